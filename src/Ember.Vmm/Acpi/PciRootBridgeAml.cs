using Ember.Vmm.Devices;

namespace Ember.Vmm.Acpi;

/// <summary>
/// The PCI Express root bridge of bus 0, PCI0 (PNP0A08, compatible with PNP0A03): its bus number, the 0xCF8
/// configuration ports, the I/O ranges on either side of them and the 32-bit BAR window in _CRS, and, once a
/// device has an INTx pin, a _PRT with one row per populated slot. The rows name GSIs directly (Source Zero,
/// ACPI 6.x §6.2.13), so no link devices: Ember's wiring is fixed (<see cref="PciTopology.IntxGsiForSlot"/>).
/// </summary>
/// <param name="routes">The routes as they are when the DSDT is built (a live list: devices added later count).</param>
public sealed class PciRootBridgeAml(IReadOnlyList<PciInterruptRoute> routes) : IAmlDevice
{
    /// <summary>_PRT address: device number in the high word, 0xFFFF (any function) in the low word (§6.2.13).</summary>
    private const uint AnyFunction = 0xFFFF;

    /// <summary>_PRT pin: 0 is INTA# (§6.2.13), the only pin Ember's functions use.</summary>
    private const uint IntAPin = 0;

    public byte[] EncodeAml() =>
        Aml.Device("PCI0",
            [.. Identity(), .. routes.Count > 0 ? [RoutingTable(routes)] : Array.Empty<byte[]>()]);

    /// <summary>_PRT rows, one per route: { address, pin, source (Zero: a GSI, no link device), source index (the GSI) }.</summary>
    public static byte[] RoutingTable(IReadOnlyList<PciInterruptRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        return Aml.Name("_PRT", Aml.Package([.. routes.Select(route => Aml.Package(
            Aml.DWord(((uint)route.Slot << 16) | AnyFunction),
            Aml.Integer(IntAPin),
            Aml.Integer(0),
            Aml.Integer((ulong)route.Gsi)))]));
    }

    private static byte[][] Identity() =>
    [
        Aml.Name("_HID", Aml.DWord(Aml.EisaId("PNP0A08"))),
        Aml.Name("_CID", Aml.DWord(Aml.EisaId("PNP0A03"))),
        Aml.Name("_UID", Aml.Integer(0)),
        Aml.Name("_SEG", Aml.Integer(0)),
        Aml.Name("_BBN", Aml.Integer(0)),
        Aml.Name("_CRS", AmlResource.Template(
            AmlResource.WordBusNumber(0, Layout.PciBusCount - 1),
            AmlResource.IoPort16(Layout.PciConfigAddressPort, Layout.PciConfigAddressPort, 0x01, 8),
            AmlResource.WordIo(0x0000, Layout.PciConfigAddressPort - 1),
            AmlResource.WordIo(Layout.PciConfigAddressPort + 8, 0xFFFF),
            AmlResource.DWordMemory((uint)Layout.PciMmio32Start, (uint)(Layout.PciMmio32Start + Layout.PciMmio32Size - 1)))),
    ];
}
