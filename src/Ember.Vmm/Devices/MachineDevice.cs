using Ember.Devices.Pci;
using Ember.Vmm.Acpi;

namespace Ember.Vmm.Devices;

/// <summary>
/// One entry of the device manager's registry: a device under its id, with what it was given (bus ranges,
/// wired GSIs, a PCI address) and its part of the DSDT, if it has one.
/// </summary>
public sealed class MachineDevice(string id, object device, IAmlDevice? aml)
{
    private readonly List<(ulong Base, ulong Length)> _pio = [];
    private readonly List<(ulong Base, ulong Length)> _mmio = [];
    private readonly List<int> _gsis = [];

    /// <summary>The registry key ("com1", "i8042", "drive:rootfs", …).</summary>
    public string Id { get; } = id;

    /// <summary>The device model (a bus device, a PCI function, a controller with several register blocks).</summary>
    public object Device { get; } = device;

    /// <summary>Its AML term for the DSDT's \_SB, or null when ACPI does not describe it.</summary>
    public IAmlDevice? Aml { get; } = aml;

    /// <summary>Its PCI address, for a PCI function.</summary>
    public PciAddress? PciAddress { get; internal set; }

    /// <summary>The port ranges its registers occupy.</summary>
    public IReadOnlyList<(ulong Base, ulong Length)> PioRanges => _pio;

    /// <summary>The fixed MMIO ranges its registers occupy (a PCI function's BARs move with the guest; they are not here).</summary>
    public IReadOnlyList<(ulong Base, ulong Length)> MmioRanges => _mmio;

    /// <summary>The wired GSIs (ISA IRQs) it was given.</summary>
    public IReadOnlyList<int> Gsis => _gsis;

    internal void AddPio(ulong start, ulong length) => _pio.Add((start, length));

    internal void AddMmio(ulong start, ulong length) => _mmio.Add((start, length));

    internal void AddGsi(int gsi) => _gsis.Add(gsi);
}
