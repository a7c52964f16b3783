using Ember.Vmm.Acpi;

namespace Ember.Vmm.Tests.Acpi;

public sealed class AcpiNoApicTests
{
    [Fact]
    public void WithoutAnApicThereIsNoMadtAndTheRootTablesPointOnlyAtTheFadtAndMcfg()
    {
        var withApic = AcpiTableBuilder.Build(new AcpiPlatform(1));
        var without = AcpiTableBuilder.Build(new AcpiPlatform(1) { HasApic = false });
        Assert.Contains(withApic.Tables, t => t.Signature == "APIC");
        Assert.DoesNotContain(without.Tables, t => t.Signature == "APIC");
        // XSDT: 36-byte header, then one 8-byte pointer per table.
        Assert.Equal(36 + 16, without["XSDT"].Bytes.Length);
        Assert.Equal(36 + 24, withApic["XSDT"].Bytes.Length);
        foreach (var table in without.Tables.Where(t => t.Signature is not ("RSDP" or "FACS")))
            Assert.Equal(0, table.Bytes.Aggregate(0, (sum, b) => (sum + b) & 0xFF));
    }
}
