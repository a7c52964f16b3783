using Ember.Vmm.Devices;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Differentiated System Description Table (ACPI 6.x §5.2.11.1): header plus an AML definition block of
/// _S5 and the \_SB terms of the devices that exist (<see cref="IAmlDevice"/>, collected by the device manager);
/// for a machine with its usual devices that is
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
/// Linux uses the MCFG's ECAM only when a PNP0C01/PNP0C02 device (or E820) reserves it, hence MRES
/// (<see cref="EcamReservationAml"/>). The _PRT rows name GSIs directly (<see cref="PciRootBridgeAml"/>). Such a GSI is level-triggered, active-low by
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

    /// <summary>The AML definition block (without the table header) of the fixed PC devices without PCI functions.</summary>
    public static byte[] DefinitionBlock() => DefinitionBlock([]);

    /// <summary>The AML definition block of the fixed PC devices with a _PRT for <paramref name="pciRoutes"/> (none: no _PRT).</summary>
    public static byte[] DefinitionBlock(IReadOnlyList<PciInterruptRoute> pciRoutes) => DefinitionBlockFor(PcDevices(pciRoutes));

    /// <summary>The AML definition block: _S5, then <paramref name="devices"/>' terms in \_SB, in their order.</summary>
    public static byte[] DefinitionBlockFor(IReadOnlyList<IAmlDevice> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        return
        [
            .. Aml.Name("_S5", Aml.Package(
                Aml.Integer(S5SleepType),
                Aml.Integer(S5SleepType),
                Aml.Integer(0),
                Aml.Integer(0))),
            .. Aml.Scope("\\_SB", [.. devices.Select(device => device.EncodeAml())]),
        ];
    }

    /// <summary>
    /// What every Ember machine has in \_SB, in the order its device manager registers them: COM1, the PCI
    /// root bridge (with <paramref name="pciRoutes"/>) and the ECAM reservation. For tables built without a machine.
    /// </summary>
    public static IReadOnlyList<IAmlDevice> PcDevices(IReadOnlyList<PciInterruptRoute> pciRoutes) =>
    [
        new SerialPortAml("COM1", 1, Layout.Com1Port, (byte)Layout.Com1PortCount, Layout.Com1Irq),
        new PciRootBridgeAml(pciRoutes),
        new EcamReservationAml(),
    ];

    /// <summary>_PRT rows, one per route (<see cref="PciRootBridgeAml.RoutingTable"/>).</summary>
    public static byte[] PciRoutingTable(IReadOnlyList<PciInterruptRoute> routes) => PciRootBridgeAml.RoutingTable(routes);

    public static byte[] Encode() => EncodeFor(PcDevices([]));

    public static byte[] Encode(IReadOnlyList<PciInterruptRoute> pciRoutes) => EncodeFor(PcDevices(pciRoutes));

    /// <summary>The table for <paramref name="devices"/> (a machine's <see cref="Devices.DeviceManager.AmlDevices"/>).</summary>
    public static byte[] EncodeFor(IReadOnlyList<IAmlDevice> devices)
    {
        byte[] body = DefinitionBlockFor(devices);
        var bytes = new byte[AcpiTableHeader.Size + body.Length];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        body.CopyTo(bytes, AcpiTableHeader.Size);
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
