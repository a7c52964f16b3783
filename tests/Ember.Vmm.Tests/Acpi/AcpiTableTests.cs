using System.Buffers.Binary;
using System.Text;
using Ember.Vmm.Acpi;
using Ember.Vmm.Tests.Fakes;
using Xunit;

namespace Ember.Vmm.Tests.Acpi;

public class AcpiTableTests
{
    private static readonly AcpiTableSet Tables = AcpiTableBuilder.Build(new AcpiPlatform(VcpuCount: 4));

    private static uint U32(byte[] table, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(offset));
    private static ulong U64(byte[] table, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(offset));
    private static ushort U16(byte[] table, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(offset));

    public static TheoryData<string> HeaderedSignatures => ["DSDT", "FACP", "APIC", "MCFG", "RSDT", "XSDT"];

    [Theory]
    [MemberData(nameof(HeaderedSignatures))]
    public void EveryTableSumsToZeroAndHasItsLengthInTheHeader(string signature)
    {
        var table = Tables[signature].Bytes;

        Assert.Equal(0, AcpiChecksum.Sum(table));
        Assert.Equal((uint)table.Length, U32(table, 4));
        Assert.Equal(signature, Encoding.ASCII.GetString(table, 0, 4));
        Assert.Equal("EMBER ", Encoding.ASCII.GetString(table, 10, 6));
    }

    [Fact]
    public void RsdpChecksumsCoverTheFirst20BytesAndAll36()
    {
        var rsdp = Tables[Rsdp.Signature].Bytes;

        Assert.Equal(36, rsdp.Length);
        Assert.Equal(0, AcpiChecksum.Sum(rsdp.AsSpan(0, 20)));
        Assert.Equal(0, AcpiChecksum.Sum(rsdp));
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal((byte)2, rsdp[15]);
        Assert.Equal(36U, U32(rsdp, 20));
        Assert.Equal(Tables["RSDT"].Address.Value, U32(rsdp, 16));
        Assert.Equal(Tables["XSDT"].Address.Value, U64(rsdp, 24));
    }

    [Fact]
    public void ChecksumApplyMakesAnyBufferSumToZero()
    {
        var data = Enumerable.Range(0, 77).Select(i => (byte)(i * 31)).ToArray();

        AcpiChecksum.Apply(data, 9);

        Assert.Equal(0, AcpiChecksum.Sum(data));
    }

    [Fact]
    public void TablesArePlacedInTheBiosAreaAlignedAndDisjoint()
    {
        var sorted = Tables.Tables.OrderBy(t => t.Address.Value).ToArray();

        Assert.Equal(Layout.Rsdp, Tables.RsdpAddress.Value);
        Assert.Equal(Layout.Rsdp, sorted[0].Address.Value);
        Assert.Equal(0UL, Tables["FACS"].Address.Value % 64);
        foreach (var table in sorted)
        {
            Assert.Equal(0UL, table.Address.Value % 16);
            Assert.InRange(table.Address.Value, Layout.AcpiStart, Layout.AcpiEnd - (ulong)table.Bytes.Length);
        }
        for (int i = 1; i < sorted.Length; i++)
        {
            Assert.True(sorted[i - 1].Address.Value + (ulong)sorted[i - 1].Bytes.Length <= sorted[i].Address.Value);
        }
    }

    [Fact]
    public void RootTablesListTheFadtMadtAndMcfg()
    {
        var xsdt = Tables["XSDT"].Bytes;
        var rsdt = Tables["RSDT"].Bytes;
        ulong fadt = Tables["FACP"].Address.Value;
        ulong madt = Tables["APIC"].Address.Value;
        ulong mcfg = Tables["MCFG"].Address.Value;

        Assert.Equal(36 + 24, xsdt.Length);
        Assert.Equal([fadt, madt, mcfg], new[] { U64(xsdt, 36), U64(xsdt, 44), U64(xsdt, 52) });
        Assert.Equal(36 + 12, rsdt.Length);
        Assert.Equal([(uint)fadt, (uint)madt, (uint)mcfg], new[] { U32(rsdt, 36), U32(rsdt, 40), U32(rsdt, 44) });
    }

    [Fact]
    public void McfgGivesBusZerosEcamRegion()
    {
        var mcfg = Tables["MCFG"].Bytes;

        Assert.Equal(36 + 8 + 16, mcfg.Length);
        Assert.Equal(0xE000_0000UL, U64(mcfg, 44));     // base address
        Assert.Equal((ushort)0, U16(mcfg, 52));          // segment 0
        Assert.Equal((0, 0), (mcfg[54], mcfg[55]));      // buses 0 to 0
    }

    [Fact]
    public void FadtKeyFieldsAreAtTheirOffsets()
    {
        var fadt = Tables["FACP"].Bytes;

        Assert.Equal(276, fadt.Length);
        Assert.Equal((byte)6, fadt[8]);                                     // major revision
        Assert.Equal((byte)3, fadt[131]);                                   // minor revision
        Assert.Equal(Tables["FACS"].Address.Value, U32(fadt, 36));
        Assert.Equal(Tables["DSDT"].Address.Value, U32(fadt, 40));
        Assert.Equal(Tables["FACS"].Address.Value, U64(fadt, 132));         // X_FIRMWARE_CTRL
        Assert.Equal(Tables["DSDT"].Address.Value, U64(fadt, 140));         // X_DSDT
        Assert.Equal((ushort)9, U16(fadt, 46));                             // SCI_INT
        Assert.Equal(0U, U32(fadt, 48));                                    // no SMI_CMD
        Assert.Equal(0x600U, U32(fadt, 56));                                // PM1a_EVT_BLK
        Assert.Equal(0x604U, U32(fadt, 64));                                // PM1a_CNT_BLK
        Assert.Equal(0x608U, U32(fadt, 76));                                // PM_TMR_BLK
        Assert.Equal((4, 2, 4), (fadt[88], fadt[89], fadt[91]));            // lengths
        uint flags = U32(fadt, 112);
        Assert.NotEqual(0U, flags & (1u << 8));                             // TMR_VAL_EXT: 32-bit timer
        Assert.Equal(0U, flags & (1u << 20));                               // not HW_REDUCED
        Assert.NotEqual(0, U16(fadt, 109) & 2);                             // 8042 present
        // X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK: system I/O GAS matching the 32-bit fields.
        Assert.Equal((1, 32, 0, 2, 0x600UL), (fadt[148], fadt[149], fadt[150], fadt[151], U64(fadt, 152)));
        Assert.Equal((1, 16, 0, 2, 0x604UL), (fadt[172], fadt[173], fadt[174], fadt[175], U64(fadt, 176)));
        Assert.Equal((1, 32, 0, 3, 0x608UL), (fadt[208], fadt[209], fadt[210], fadt[211], U64(fadt, 212)));
        // Reset register: 0xFE to the i8042 command port.
        Assert.Equal((1, 8, 0x64UL, 0xFE), (fadt[116], fadt[117], U64(fadt, 120), fadt[128]));
    }

    [Fact]
    public void MadtDescribesEveryVcpuTheIoApicOverridesAndNmi()
    {
        var madt = Madt.Encode(3);

        Assert.Equal(0xFEE0_0000U, U32(madt, 36));
        Assert.Equal(1U, U32(madt, 40));                                    // PCAT_COMPAT
        int at = 44;
        for (int cpu = 0; cpu < 3; cpu++, at += 8)
        {
            Assert.Equal((0, 8, cpu, cpu, 1U), (madt[at], madt[at + 1], madt[at + 2], madt[at + 3], U32(madt, at + 4)));
        }
        Assert.Equal((1, 12, 0, 0xFEC0_0000U, 0U), (madt[at], madt[at + 1], madt[at + 2], U32(madt, at + 4), U32(madt, at + 8)));
        at += 12;
        Assert.Equal((2, 10, 0, 0, 2U, (ushort)0x5), (madt[at], madt[at + 1], madt[at + 2], madt[at + 3], U32(madt, at + 4), U16(madt, at + 8)));
        at += 10;
        Assert.Equal((2, 10, 0, 9, 9U, (ushort)0xD), (madt[at], madt[at + 1], madt[at + 2], madt[at + 3], U32(madt, at + 4), U16(madt, at + 8)));
        at += 10;
        Assert.Equal((4, 6, 0xFF, (ushort)0x5, 1), (madt[at], madt[at + 1], madt[at + 2], U16(madt, at + 3), madt[at + 5]));
        Assert.Equal(at + 6, madt.Length);
        Assert.Equal(0, AcpiChecksum.Sum(madt));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void MadtRejectsVcpuCountsThatDoNotFitXapicIds(int vcpus)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Madt.Encode(vcpus));
    }

    [Fact]
    public void MaximumVcpuCountStillFitsTheAcpiRegion()
    {
        var tables = AcpiTableBuilder.Build(new AcpiPlatform(Madt.MaxProcessors));

        Assert.Equal(44 + 254 * 8 + 12 + 20 + 6, tables["APIC"].Bytes.Length);
        Assert.Equal(0, AcpiChecksum.Sum(tables["APIC"].Bytes));
    }

    [Fact]
    public void FacsHasSignatureLengthAndVersion()
    {
        var facs = Tables["FACS"].Bytes;

        Assert.Equal(64, facs.Length);
        Assert.Equal("FACS", Encoding.ASCII.GetString(facs, 0, 4));
        Assert.Equal(64U, U32(facs, 4));
        Assert.Equal((byte)2, facs[32]);
    }

    [Fact]
    public void WriteToCopiesEveryTableIntoGuestMemory()
    {
        var memory = ByteArrayGuestMemory.WithLayout(16 << 20);

        var rsdp = Tables.WriteTo(memory);

        Assert.Equal(Layout.Rsdp, rsdp.Value);
        foreach (var table in Tables.Tables)
        {
            Assert.Equal(table.Bytes, memory.ReadBytes(table.Address.Value, table.Bytes.Length));
        }
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(memory.ReadBytes(0xE0000, 8)));
    }
}
