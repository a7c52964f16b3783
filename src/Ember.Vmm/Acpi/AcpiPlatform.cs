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
}
