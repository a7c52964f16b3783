using Ember.Vmm.Acpi;
using Xunit;

namespace Ember.Vmm.Tests.Acpi;

public class AmlTests
{
    [Fact]
    public void S5PackageIsEncodedByteForByte()
    {
        byte[] expected = [0x08, (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00];

        byte[] block = Dsdt.DefinitionBlock();

        Assert.Equal(expected, block[..expected.Length]);
        Assert.Equal(5, Dsdt.S5SleepType);
    }

    [Fact]
    public void DsdtBodyContainsTheCom1DeviceWithItsResources()
    {
        byte[] dsdt = Dsdt.Encode();

        Assert.Equal(0, AcpiChecksum.Sum(dsdt));
        Assert.True(Contains(dsdt, [0x5B, 0x82]), "no DeviceOp");
        Assert.True(Contains(dsdt, [.. "COM1"u8]));
        Assert.True(Contains(dsdt, [0x08, .. "_HID"u8, 0x0C, 0x41, 0xD0, 0x05, 0x01]), "_HID is not EisaId(PNP0501)");
        Assert.True(Contains(dsdt, [0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08]), "no IO descriptor for 0x3F8");
        Assert.True(Contains(dsdt, [0x22, 0x10, 0x00, 0x79, 0x00]), "no IRQ4 descriptor followed by the end tag");
    }

    [Fact]
    public void PciRoutingTableIsEncodedByteForByte()
    {
        byte[] expected =
        [
            0x08, .. "_PRT"u8, 0x12, 0x1A, 0x02,                                     // Name (_PRT, Package (2) {
            0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x05,   //   { 0x0001FFFF, Zero, Zero, 5 }
            0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x0A, 0x0A,   //   { 0x0002FFFF, Zero, Zero, 10 } })
        ];

        Assert.Equal(expected, Dsdt.PciRoutingTable([new(1, 5), new(2, 10)]));
    }

    [Fact]
    public void ThePciRootHasAPrtOnlyWhenThereAreDevices()
    {
        byte[] prt = Dsdt.PciRoutingTable([new(1, 5)]);
        Assert.False(Contains(Dsdt.DefinitionBlock(), [.. "_PRT"u8]));
        byte[] withDevice = Dsdt.DefinitionBlock([new(1, 5)]);
        Assert.True(Contains(withDevice, prt));
        // Inside PCI0: the _PRT comes after the root's name and before MRES.
        int pci0 = IndexOf(withDevice, [.. "PCI0"u8]);
        Assert.InRange(IndexOf(withDevice, prt), pci0, IndexOf(withDevice, [.. "MRES"u8]));
        Assert.Equal(0, AcpiChecksum.Sum(Dsdt.Encode([new(1, 5)])));
    }

    [Theory]
    [InlineData("PNP0501", 0x0105D041U)]
    [InlineData("PNP0A03", 0x030AD041U)]
    [InlineData("PNP0303", 0x0303D041U)]
    public void EisaIdsCompressTheVendorAndKeepTheProductBigEndian(string id, uint expected)
    {
        Assert.Equal(expected, Aml.EisaId(id));
    }

    [Theory]
    [InlineData("pnp0501")]
    [InlineData("PNP050")]
    [InlineData("PNP05G1")]
    public void MalformedEisaIdsAreRejected(string id)
    {
        Assert.Throws<ArgumentException>(() => Aml.EisaId(id));
    }

    [Theory]
    [InlineData(0, new byte[] { 0x01 })]
    [InlineData(62, new byte[] { 0x3F })]
    [InlineData(63, new byte[] { 0x41, 0x04 })]            // total 65 = 0x041
    [InlineData(0xFFD, new byte[] { 0x4F, 0xFF })]         // total 0xFFF, the two-byte maximum
    [InlineData(0xFFE, new byte[] { 0x81, 0x00, 0x01 })]   // total 0x1001
    public void PkgLengthCountsItselfAndSplitsIntoNibbleAndBytes(int contentLength, byte[] expected)
    {
        Assert.Equal(expected, Aml.PkgLength(contentLength));
    }

    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(1UL, new byte[] { 0x01 })]
    [InlineData(5UL, new byte[] { 0x0A, 0x05 })]
    [InlineData(0x3F8UL, new byte[] { 0x0B, 0xF8, 0x03 })]
    [InlineData(0xFEC00000UL, new byte[] { 0x0C, 0x00, 0x00, 0xC0, 0xFE })]
    [InlineData(0x1_0000_0000UL, new byte[] { 0x0E, 0, 0, 0, 0, 1, 0, 0, 0 })]
    public void IntegersUseTheShortestEncoding(ulong value, byte[] expected)
    {
        Assert.Equal(expected, Aml.Integer(value));
    }

    [Fact]
    public void NameStringsPadSegmentsAndHandleRootAndDualPaths()
    {
        Assert.Equal("_S5_"u8.ToArray(), Aml.NameString("_S5"));
        Assert.Equal([0x5C, .. "_SB_"u8], Aml.NameString("\\_SB"));
        Assert.Equal([0x5C, 0x2E, .. "_SB_"u8, .. "COM1"u8], Aml.NameString("\\_SB.COM1"));
        Assert.Throws<ArgumentException>(() => Aml.NameString("toolong"));
        Assert.Throws<ArgumentException>(() => Aml.NameString("1ABC"));
    }

    [Fact]
    public void BufferCarriesItsSizeAndPackageItsElementCount()
    {
        Assert.Equal(new byte[] { 0x11, 0x05, 0x0A, 0x02, 0xAA, 0xBB }, Aml.Buffer([0xAA, 0xBB]));
        Assert.Equal(new byte[] { 0x12, 0x04, 0x02, 0x00, 0x01 }, Aml.Package(Aml.Integer(0), Aml.Integer(1)));
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
