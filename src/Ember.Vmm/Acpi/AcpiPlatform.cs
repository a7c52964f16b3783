namespace Ember.Vmm.Acpi;

/// <summary>What the ACPI tables describe. Everything else (ports, IRQs, addresses) comes from <see cref="Layout"/>.</summary>
/// <param name="VcpuCount">Number of vCPUs, 1 to <see cref="Madt.MaxProcessors"/>.</param>
public sealed record AcpiPlatform(int VcpuCount);
