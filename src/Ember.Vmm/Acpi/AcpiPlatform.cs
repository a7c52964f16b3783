namespace Ember.Vmm.Acpi;

/// <summary>What the ACPI tables describe. Everything else (ports, IRQs, addresses) comes from <see cref="Layout"/>.</summary>
/// <param name="VcpuCount">Number of vCPUs, 1 to <see cref="Madt.MaxProcessors"/>.</param>
public sealed record AcpiPlatform(int VcpuCount)
{
    /// <summary>
    /// False when the machine has no local APIC or IOAPIC at all (user-space irqchip mode): then there is
    /// no MADT, and the guest uses the 8259A PIC as on a pre-APIC PC.
    /// </summary>
    public bool HasApic { get; init; } = true;

    /// <summary>The PCI devices' INTA# routing, one row per populated slot: the DSDT's _PRT (<see cref="Devices.PciTopology"/>).</summary>
    public IReadOnlyList<Devices.PciInterruptRoute> PciInterruptRoutes { get; init; } = [];

    /// <summary>
    /// The devices the DSDT describes, in order (a machine's <see cref="Devices.DeviceManager.AmlDevices"/>); null
    /// means the usual PC set (<see cref="Dsdt.PcDevices"/>) with <see cref="PciInterruptRoutes"/>.
    /// </summary>
    public IReadOnlyList<IAmlDevice>? Devices { get; init; }
}
