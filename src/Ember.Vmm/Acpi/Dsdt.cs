using Ember.Vmm.Devices;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Differentiated System Description Table (ACPI 6.x §5.2.11.1): header plus a hand-assembled
/// AML definition block with
/// <code>
/// Name (_S5, Package () { 5, 5, 0, 0 })          // soft-off: SLP_TYPa, SLP_TYPb
/// Scope (\_SB) {
///     Device (COM1) {
///         Name (_HID, EisaId ("PNP0501"))         // 16550A-compatible UART
///         Name (_UID, One)
///         Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 0x01, 0x08)  IRQNoFlags () {4} })
///     }
///     Device (PCI0) {                             // the PCI Express root bridge: bus 0
///         Name (_HID, EisaId ("PNP0A08"))
///         Name (_CID, EisaId ("PNP0A03"))
///         Name (_UID, Zero)  Name (_SEG, Zero)  Name (_BBN, Zero)
///         Name (_CRS, ResourceTemplate () {
///             WordBusNumber (0, 0)  IO (Decode16, 0xCF8, 0xCF8, 1, 8)
///             WordIO (0x0000-0x0CF7)  WordIO (0x0D00-0xFFFF)  DWordMemory (the 32-bit BAR window) })
///         Name (_PRT, Package () {                // only with PCI devices: one row per populated slot
///             Package () { 0x0001FFFF, Zero, Zero, 5 }  ...   // slot 1, INTA#, no link device, GSI 5
///         })
///     }
///     Device (MRES) {                             // motherboard resources: the ECAM region
///         Name (_HID, EisaId ("PNP0C02"))
///         Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, ECAM base, ECAM length) })
///     }
/// }
/// </code>
/// Linux uses the MCFG's ECAM only when a PNP0C01/PNP0C02 device (or E820) reserves it, hence MRES.
/// The _PRT rows name GSIs directly (Source Zero, ACPI 6.x §6.2.13), so no link devices: Ember's wiring is
/// fixed (<see cref="Devices.PciTopology.IntxGsiForSlot"/>). Such a GSI is level-triggered, active-low by
/// the spec; Ember's IOAPIC (and KVM's) take the input as the logical "asserted" level whatever the polarity
/// bit says, and the 8259A sees it through the ELCR, so the OS's choice of polarity does not matter.
/// </summary>
public static class Dsdt
{
    public const string Signature = "DSDT";

    /// <summary>Revision 2: integers in this definition block are 64 bits wide (§5.2.11.1).</summary>
    public const byte Revision = 2;

    /// <summary>
    /// SLP_TYP for S5 (soft off). The guest writes SLP_TYP = this value with SLP_EN to PM1_CNT;
    /// the PM control device must treat exactly this value as "power off".
    /// </summary>
    public const byte S5SleepType = 5;

    /// <summary>The AML definition block (without the table header).</summary>
    public static byte[] DefinitionBlock() => DefinitionBlock([]);

    /// <summary>The AML definition block with a _PRT for <paramref name="pciRoutes"/> (none: no _PRT).</summary>
    public static byte[] DefinitionBlock(IReadOnlyList<PciInterruptRoute> pciRoutes) =>
    [
        .. Aml.Name("_S5", Aml.Package(
            Aml.Integer(S5SleepType),
            Aml.Integer(S5SleepType),
            Aml.Integer(0),
            Aml.Integer(0))),
        .. Aml.Scope("\\_SB",
            Aml.Device("COM1",
                Aml.Name("_HID", Aml.DWord(Aml.EisaId("PNP0501"))),
                Aml.Name("_UID", Aml.Integer(1)),
                Aml.Name("_CRS", AmlResource.Template(
                    AmlResource.IoPort16(Layout.Com1Port, Layout.Com1Port, 0x01, (byte)Layout.Com1PortCount),
                    AmlResource.IrqNoFlags(Layout.Com1Irq)))),
            PciRootBridge(pciRoutes),
            Aml.Device("MRES",
                Aml.Name("_HID", Aml.DWord(Aml.EisaId("PNP0C02"))),
                Aml.Name("_UID", Aml.Integer(0)),
                Aml.Name("_CRS", AmlResource.Template(
                    AmlResource.Memory32Fixed((uint)Layout.PciEcamBase, (uint)(Layout.PciBusCount * (ulong)PciEcamBytesPerBus)))))),
    ];

    /// <summary>1 MiB of configuration space per bus (PCIe base spec §7.2.2).</summary>
    private const uint PciEcamBytesPerBus = 1u << 20;

    /// <summary>_PRT address: device number in the high word, 0xFFFF (any function) in the low word (§6.2.13).</summary>
    private const uint AnyFunction = 0xFFFF;

    /// <summary>_PRT pin: 0 is INTA# (§6.2.13), the only pin Ember's functions use.</summary>
    private const uint IntAPin = 0;

    /// <summary>_PRT rows, one per route: { address, pin, source (Zero: a GSI, no link device), source index (the GSI) }.</summary>
    public static byte[] PciRoutingTable(IReadOnlyList<PciInterruptRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        return Aml.Name("_PRT", Aml.Package([.. routes.Select(route => Aml.Package(
            Aml.DWord(((uint)route.Slot << 16) | AnyFunction),
            Aml.Integer(IntAPin),
            Aml.Integer(0),
            Aml.Integer((ulong)route.Gsi)))]));
    }

    private static byte[] PciRootBridge(IReadOnlyList<PciInterruptRoute> pciRoutes) =>
        Aml.Device("PCI0",
            [.. PciRootBridgeTerms(), .. pciRoutes.Count > 0 ? [PciRoutingTable(pciRoutes)] : Array.Empty<byte[]>()]);

    private static byte[][] PciRootBridgeTerms() =>
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

    public static byte[] Encode() => Encode([]);

    public static byte[] Encode(IReadOnlyList<PciInterruptRoute> pciRoutes)
    {
        byte[] body = DefinitionBlock(pciRoutes);
        var bytes = new byte[AcpiTableHeader.Size + body.Length];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        body.CopyTo(bytes, AcpiTableHeader.Size);
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
