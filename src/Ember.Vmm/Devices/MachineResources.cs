using Ember.Devices.Pci;

namespace Ember.Vmm.Devices;

/// <summary>
/// The one owner of each resource a device can be given (DESIGN.md principle 16): the PCI I/O ports above the
/// legacy ISA range, the 32-bit and 64-bit PCI memory windows, the wired GSIs (the IOAPIC's 24 pins, the
/// 8259A's 16 among them) and the slots of PCI bus 0. Fixed devices reserve what <see cref="Layout"/> gives
/// them, so a second claim of a port, an IRQ or a slot fails when the machine is built instead of sharing a
/// line silently. Message-signalled GSIs (24 and up) are not here: KVM's routing table hands those out
/// (<see cref="Interrupts.GsiRouteTable"/>), next to the routes it owns.
/// </summary>
public sealed class MachineResources
{
    /// <param name="memorySize">Guest RAM in bytes: the 64-bit window starts above it.</param>
    public MachineResources(ulong memorySize)
    {
        Mmio64 = new AddressAllocator("PCI 64-bit BAR window", Layout.PciMmio64Start(memorySize), Layout.PciMmio64Size);
        // The host bridge is device 0 of bus 0 (PCI Local Bus 3.0 §3.2.2.3.1); functions go from slot 1 up.
        PciSlots.Reserve(0, 1);
    }

    /// <summary>Ports for I/O BARs, <see cref="Layout.PciIoStart"/> up; the fixed ports below are the platform's.</summary>
    public AddressAllocator Pio { get; } = new("PCI I/O space", Layout.PciIoStart, Layout.PciIoSize);

    /// <summary>The 32-bit BAR window of the PCI root bridge (its DWordMemory in the DSDT).</summary>
    public AddressAllocator Mmio32 { get; } = new("PCI 32-bit BAR window", Layout.PciMmio32Start, Layout.PciMmio32Size);

    /// <summary>The 64-bit BAR window above RAM.</summary>
    public AddressAllocator Mmio64 { get; }

    /// <summary>The wired GSIs 0-23 (one "address" per GSI): ISA IRQs of the platform devices and the PCI INTx wires.</summary>
    public AddressAllocator Gsis { get; } = new("wired GSIs", 0, Layout.IoApicPins);

    /// <summary>The device numbers of PCI bus 0 (one "address" per slot); slot 0 is the host bridge's.</summary>
    public AddressAllocator PciSlots { get; } = new("PCI bus 0 slots", 0, PciAddress.DevicesPerBus);
}
