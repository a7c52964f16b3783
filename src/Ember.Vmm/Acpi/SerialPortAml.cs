namespace Ember.Vmm.Acpi;

/// <summary>
/// A 16550A-compatible UART (PNP0501) at a fixed port range and ISA IRQ:
/// <c>Device (COM1) { _HID EisaId ("PNP0501"), _UID, _CRS { IO (Decode16, …), IRQNoFlags () {irq} } }</c>.
/// </summary>
public sealed class SerialPortAml(string name, int uid, ushort port, byte portCount, byte irq) : IAmlDevice
{
    public byte[] EncodeAml() =>
        Aml.Device(name,
            Aml.Name("_HID", Aml.DWord(Aml.EisaId("PNP0501"))),
            Aml.Name("_UID", Aml.Integer((ulong)uid)),
            Aml.Name("_CRS", AmlResource.Template(
                AmlResource.IoPort16(port, port, 0x01, portCount),
                AmlResource.IrqNoFlags(irq))));
}
