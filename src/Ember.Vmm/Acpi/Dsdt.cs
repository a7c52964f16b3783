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
/// }
/// </code>
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
    public static byte[] DefinitionBlock() =>
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
                    AmlResource.IrqNoFlags(Layout.Com1Irq))))),
    ];

    public static byte[] Encode()
    {
        byte[] body = DefinitionBlock();
        var bytes = new byte[AcpiTableHeader.Size + body.Length];
        AcpiTableHeader.Write(bytes, Signature, Revision);
        body.CopyTo(bytes, AcpiTableHeader.Size);
        AcpiTableHeader.Seal(bytes);
        return bytes;
    }
}
