namespace Ember.Vmm.Acpi;

/// <summary>
/// MRES, a motherboard-resources device (PNP0C02) that reserves the ECAM region. Linux uses the MCFG's ECAM
/// only when a PNP0C01/PNP0C02 device (or E820) reserves it.
/// </summary>
public sealed class EcamReservationAml : IAmlDevice
{
    /// <summary>1 MiB of configuration space per bus (PCIe base spec §7.2.2).</summary>
    private const uint PciEcamBytesPerBus = 1u << 20;

    public byte[] EncodeAml() =>
        Aml.Device("MRES",
            Aml.Name("_HID", Aml.DWord(Aml.EisaId("PNP0C02"))),
            Aml.Name("_UID", Aml.Integer(0)),
            Aml.Name("_CRS", AmlResource.Template(
                AmlResource.Memory32Fixed((uint)Layout.PciEcamBase, (uint)(Layout.PciBusCount * (ulong)PciEcamBytesPerBus)))));
}
