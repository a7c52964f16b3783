namespace Ember.Devices.Pci;

/// <summary>
/// PCI bus 0 behind the host bridge: the host bridge at device 0 and up to 31 single-function devices
/// in slots 1 to 31. Configuration accesses arrive through <see cref="PciConfigMechanism1"/> or
/// <see cref="PciEcam"/>; an address with no function behind it (another bus, a function other than 0,
/// an empty slot) reads all ones, so its vendor ID is 0xFFFF, and writes to it vanish (§3.2.2.3.4:
/// a master abort). Devices are attached while the machine is built; lookups are lock-free.
/// </summary>
public sealed class PciRootBus
{
    private readonly IPciDevice?[] _devices = new IPciDevice?[PciAddress.DevicesPerBus];
    private readonly Lock _attachLock = new();

    /// <summary>Creates bus 0 with <paramref name="hostBridge"/> (a <see cref="PciHostBridge"/> if null) at 00:00.0.</summary>
    public PciRootBus(IPciDevice? hostBridge = null)
    {
        HostBridge = hostBridge ?? new PciHostBridge();
        Install(0, HostBridge);
    }

    public IPciDevice HostBridge { get; }

    /// <summary>
    /// A device's BAR moved. Raised before the device's own <see cref="IPciDevice.BarMoved"/>, so whoever
    /// maps BAR regions (a <see cref="PciBarMapper"/>) has remapped it by the time the device hears of it.
    /// </summary>
    public event Action<IPciDevice, PciBarMove>? BarMoved;

    /// <summary>Puts <paramref name="device"/> in slot <paramref name="slot"/> (1 to 31) of bus 0.</summary>
    public void Attach(int slot, IPciDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (slot is < 1 or >= PciAddress.DevicesPerBus)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, "PCI devices go in slots 1 to 31 (0 is the host bridge)");
        Install(slot, device);
    }

    /// <summary>The device in slot <paramref name="slot"/>, or null.</summary>
    public IPciDevice? DeviceAt(int slot) =>
        (uint)slot < PciAddress.DevicesPerBus ? Volatile.Read(ref _devices[slot]) : null;

    /// <summary>The occupied slots and their devices, host bridge first (for ACPI _PRT and diagnostics).</summary>
    public IReadOnlyList<(int Slot, IPciDevice Device)> Devices
    {
        get
        {
            var found = new List<(int, IPciDevice)>();
            for (int slot = 0; slot < _devices.Length; slot++)
            {
                if (DeviceAt(slot) is { } device)
                    found.Add((slot, device));
            }
            return found;
        }
    }

    /// <summary>A configuration read of <paramref name="register"/> at <paramref name="address"/>; all ones if nothing is there.</summary>
    public void ReadConfig(PciAddress address, int register, Span<byte> data)
    {
        if (Find(address) is { } device)
            device.Configuration.Read(register, data);
        else
            data.Fill(0xFF);
    }

    /// <summary>A configuration write of <paramref name="register"/> at <paramref name="address"/>; dropped if nothing is there.</summary>
    public void WriteConfig(PciAddress address, int register, ReadOnlySpan<byte> data) =>
        Find(address)?.Configuration.Write(register, data);

    private IPciDevice? Find(PciAddress address) =>
        address.Bus == 0 && address.Function == 0 ? DeviceAt(address.Device) : null;

    private void Install(int slot, IPciDevice device)
    {
        lock (_attachLock)
        {
            if (_devices[slot] is not null)
                throw new InvalidOperationException($"PCI slot {slot} is already taken");
            foreach (var existing in _devices)
            {
                if (ReferenceEquals(existing, device))
                    throw new InvalidOperationException("the device is already attached to this bus");
            }
            device.Configuration.BarMoved += move =>
            {
                BarMoved?.Invoke(device, move);
                device.BarMoved(move);
            };
            Volatile.Write(ref _devices[slot], device);
        }
    }
}
