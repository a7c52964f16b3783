using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Pci;

namespace Ember.Vmm.Devices;

/// <summary>
/// The machine's PCI: root bus 0 behind a host bridge, reachable through configuration mechanism #1 at
/// 0xCF8 and through ECAM at <see cref="Layout.PciEcamBase"/>, with BAR regions kept on the PIO and MMIO
/// buses wherever the guest moves them. It takes slots and BAR space from the machine's
/// <see cref="MachineResources"/>: a device added here gets the next free slot and its memory BARs placed
/// (naturally aligned) in the 32-bit window, with memory
/// decoding on, as firmware would leave them, so a guest that does not reassign BARs finds them working.
/// The ACPI tables describe the same thing (<see cref="Acpi.Dsdt"/>'s PCI0 and MRES, <see cref="Acpi.Mcfg"/>).
/// It is also the one owner of the PCI INTx wiring: INTA# of slot <i>s</i> reaches GSI
/// <see cref="IntxGsiForSlot"/>(<i>s</i>), one wire-ORed line per GSI shared by the slots on it, and
/// <see cref="InterruptRoutes"/> is what the DSDT's _PRT says.
/// </summary>
public sealed class PciTopology
{
    private readonly AddressAllocator _mmio32;
    private readonly AddressAllocator _slots;
    private readonly Func<int, IInterruptLine>? _gsiLine;
    private readonly Dictionary<int, WiredOrInterruptLine> _intxWires = [];
    private readonly List<PciInterruptRoute> _routes = [];

    /// <param name="pio">The port I/O bus (0xCF8 and I/O BARs).</param>
    /// <param name="mmio">The MMIO bus (ECAM and memory BARs).</param>
    /// <param name="resources">Where slots and BAR space come from; the INTx GSIs are reserved there too.</param>
    /// <param name="gsiLine">The interrupt controller's line for a GSI below 16 (its ISA lines); null leaves INTx unconnected.</param>
    public PciTopology(DeviceBus pio, DeviceBus mmio, MachineResources resources, Func<int, IInterruptLine>? gsiLine = null)
    {
        ArgumentNullException.ThrowIfNull(pio);
        ArgumentNullException.ThrowIfNull(mmio);
        ArgumentNullException.ThrowIfNull(resources);
        _mmio32 = resources.Mmio32;
        _slots = resources.PciSlots;
        // The INTx wires are this class's: a platform device on one of their GSIs fails the build here.
        foreach (byte gsi in Layout.PciIntxGsis)
            resources.Gsis.Reserve(gsi, 1);
        _gsiLine = gsiLine;
        Root = new PciRootBus();
        Mapper = new PciBarMapper(Root, pio, mmio);
        ConfigPorts = new PciConfigMechanism1(Root);
        pio.Register(Layout.PciConfigAddressPort, PciConfigMechanism1.Length, ConfigPorts);
        Ecam = new PciEcam(Root, Layout.PciBusCount);
        mmio.Register(Layout.PciEcamBase, Ecam.Length, Ecam);
    }

    public PciRootBus Root { get; }

    public PciBarMapper Mapper { get; }

    public PciConfigMechanism1 ConfigPorts { get; }

    public PciEcam Ecam { get; }

    /// <summary>The slot the next <see cref="Add"/> uses (for building a device's INTx input before it is added).</summary>
    public int NextSlot => (int)(_slots.NextFree(1) ?? PciAddress.DevicesPerBus);

    /// <summary>INTA# of each device added so far and the GSI it reaches, in slot order.</summary>
    public IReadOnlyList<PciInterruptRoute> InterruptRoutes => _routes;

    /// <summary>
    /// The GSI that INTA# of <paramref name="slot"/> reaches: <see cref="Layout.PciIntxGsis"/> round-robin from
    /// slot 1 (the host bridge in slot 0 has no interrupt). A fixed rule, so the _PRT needs no link devices.
    /// </summary>
    public static int IntxGsiForSlot(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, PciAddress.DevicesPerBus);
        return Layout.PciIntxGsis[(slot - 1) % Layout.PciIntxGsis.Length];
    }

    /// <summary>
    /// A new input on the INTx wire of <paramref name="slot"/>'s GSI, for the device that goes there; the
    /// wire is asserted while any of its inputs is (PCI INTx lines are shared, wire-ORed).
    /// </summary>
    public IInterruptLine IntxInput(int slot)
    {
        int gsi = IntxGsiForSlot(slot);
        if (_gsiLine is null)
            return new WiredOrInterruptLine(Interrupts.UnconnectedInterruptLine.Instance).AddInput();
        if (!_intxWires.TryGetValue(gsi, out var wire))
            _intxWires[gsi] = wire = new WiredOrInterruptLine(_gsiLine(gsi));
        return wire.AddInput();
    }

    /// <summary>
    /// Puts <paramref name="device"/> in the next free slot, places its memory BARs and turns on memory
    /// decoding. Returns its address. Throws <see cref="ResourceExhaustedException"/> when the slots or
    /// the BAR window run out; I/O BARs are not placed (Ember's devices have none).
    /// </summary>
    public PciAddress Add(IPciDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_slots.NextFree(1) is null)
            throw new ResourceExhaustedException($"PCI bus 0 is full ({PciAddress.DevicesPerBus - 1} devices)");
        var config = device.Configuration;
        var placed = new List<ulong>();
        try
        {
            for (int index = 0; index < PciConfigRegisters.BarCount; index++)
            {
                if (config.Bar(index) is not { IsMemory: true } bar)
                    continue;
                ulong address = _mmio32.Allocate(bar.Size, bar.Size);
                placed.Add(address);
                config.SetBarAddress(index, address);
            }
        }
        catch
        {
            foreach (ulong address in placed)
                _mmio32.Free(address);
            throw;
        }
        int slot = (int)_slots.Allocate(1);
        Root.Attach(slot, device);
        if (config.Identity.InterruptPin != PciInterruptPin.None)
        {
            // What firmware would leave in Interrupt Line: the IRQ the pin is routed to (PCI Local Bus 3.0 §6.2.4).
            int gsi = IntxGsiForSlot(slot);
            config.InterruptLine = (byte)gsi;
            _routes.Add(new PciInterruptRoute(slot, gsi));
        }
        // Memory decoding on: PciConfigSpace raises BarMoved, the mapper puts the regions on the bus.
        config.Write(PciConfigRegisters.Command, BitConverter.GetBytes((ushort)(config.Command | PciCommand.MemorySpace)));
        return new PciAddress(0, slot, 0);
    }
}
