using Ember.Devices.Interrupts;

namespace Ember.Devices.Pci;

/// <summary>
/// The INTx output of one PCI function (PCI Local Bus 3.0 §2.2.6, §6.2.2, §6.2.3): the device model asserts
/// and deasserts its request; Command bit 10 (Interrupt Disable) holds the wire low while set, without
/// forgetting the request, which reaches the wire again when the bit is cleared; Status bit 3 (Interrupt
/// Status) shows the request whatever bit 10 says. While MSI-X is enabled (<see cref="GateOnMsix"/>) the pin is not used
/// either (PCI Local Bus 3.0 §6.8.3.3: a function enabled for MSI-X is prohibited from using INTx#). The wire is driven under this object's lock, so level
/// changes arrive in the order the device made them.
/// Lock order: the configuration space's lock may be held when this lock is taken (guest writes to the
/// Command register), never the reverse, so <see cref="SetAsserted"/> never touches the configuration
/// space: Status bit 3 is refreshed when the guest reads it.
/// </summary>
public sealed class PciIntxLine : IPciConfigHandler
{
    private const int StatusLowByte = PciConfigRegisters.Status;

    private readonly IInterruptLine _wire;
    private readonly Lock _gate = new();
    private bool _requested;
    private bool _disabled;
    private bool _msixEnabled;
    private int? _msixControl;
    private bool _driven;

    public PciIntxLine(PciConfigSpace configuration, IInterruptLine wire)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _wire = wire ?? throw new ArgumentNullException(nameof(wire));
        _disabled = (configuration.Command & PciCommand.InterruptDisable) != 0;
        configuration.AddHandler(PciConfigRegisters.Command, 4, this);
    }

    /// <summary>Whether the device requests an interrupt (Status bit 3).</summary>
    public bool IsAsserted
    {
        get
        {
            lock (_gate)
                return _requested;
        }
    }

    /// <summary>Whether the wire is driven high now (requested and not disabled by Command bit 10).</summary>
    public bool IsDriven
    {
        get
        {
            lock (_gate)
                return _driven;
        }
    }

    /// <summary>
    /// Holds the wire low while MSI-X Enable is set in the MSI-X capability at <paramref name="capabilityOffset"/>. Call
    /// once, while the device is built, after the capability's own handler is in place.
    /// </summary>
    public void GateOnMsix(PciConfigSpace configuration, int capabilityOffset)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        int control = capabilityOffset + MsixCapabilityLayout.MessageControl;
        lock (_gate)
        {
            if (_msixControl is not null)
                throw new InvalidOperationException("the INTx line already follows an MSI-X capability");
            _msixControl = control;
            _msixEnabled = (configuration.ReadUInt16(control) & MsixCapabilityLayout.Enable) != 0;
        }
        configuration.AddHandler(control, 2, this);
    }

    /// <summary>The device asserts (true) or deasserts (false) its interrupt request.</summary>
    public void SetAsserted(bool asserted)
    {
        lock (_gate)
        {
            _requested = asserted;
            Drive();
        }
    }

    void IPciConfigHandler.BeforeGuestRead(PciConfigSpace space, int offset, int length)
    {
        if (offset <= StatusLowByte && StatusLowByte < offset + length)
            space.SetInterruptStatus(Volatile.Read(ref _requested));
    }

    void IPciConfigHandler.AfterGuestWrite(PciConfigSpace space, int offset, int length)
    {
        bool disabled = (space.Command & PciCommand.InterruptDisable) != 0;
        int? control = _msixControl;   // set once while the device is built
        bool msixEnabled = control is { } at && (space.ReadUInt16(at) & MsixCapabilityLayout.Enable) != 0;
        lock (_gate)
        {
            _disabled = disabled;
            _msixEnabled = msixEnabled;
            Drive();
        }
    }

    private void Drive()
    {
        bool level = _requested && !_disabled && !_msixEnabled;
        if (level == _driven)
            return;
        _driven = level;
        _wire.SetLevel(level);
    }
}
