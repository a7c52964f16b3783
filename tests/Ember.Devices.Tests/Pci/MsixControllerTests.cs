using Ember.Devices.Interrupts;
using Ember.Devices.Pci;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Tests.Legacy;
using Xunit;
using static Ember.Devices.Tests.Fakes.RecordingMsiVectorGroup;

namespace Ember.Devices.Tests.Pci;

/// <summary>MSI-X capability, table and PBA semantics (PCI Local Bus 3.0 §6.8.2).</summary>
public sealed class MsixControllerTests
{
    private const int Vectors = 4;
    private const uint TableOffset = 0x0000;
    private const uint PbaOffset = 0x0800;
    private const ulong LapicAddress = 0xFEE0_0000;

    private readonly PciConfigSpace _config = new(new PciFunctionIdentity(0x1AF4, 0x1042, new PciClassCode(0x01, 0x00, 0x00)));
    private readonly RecordingMsiVectorGroup _group;
    private readonly MsixController _msix;

    public MsixControllerTests() : this(Vectors)
    {
    }

    private MsixControllerTests(int vectors)
    {
        _config.SetBar(1, PciBar.Memory32(0x1000));
        _group = new RecordingMsiVectorGroup(vectors);
        _msix = new MsixController(_config, _group, tableBar: 1, TableOffset, pbaBar: 1, PbaOffset);
    }

    private int Control => _msix.CapabilityOffset + MsixCapabilityLayout.MessageControl;

    private void SetControl(ushort bits) => _config.GuestWrite16(Control, bits);

    private void Program(int vector, uint data, bool masked)
    {
        ulong entry = (ulong)vector * 16;
        _msix.Table.WriteUInt32(entry + 0, (uint)LapicAddress);
        _msix.Table.WriteUInt32(entry + 4, 0);
        _msix.Table.WriteUInt32(entry + 8, data);
        _msix.Table.WriteUInt32(entry + 12, masked ? 1u : 0u);
    }

    private static MsiMessage Message(uint data) => new(LapicAddress, data);

    [Fact]
    public void CapabilityDescribesTableAndPba()
    {
        int cap = _msix.CapabilityOffset;
        Assert.Equal(PciCapabilityId.MsiX, _config.GuestRead8(cap));
        Assert.Equal(0, _config.GuestRead8(cap + 1));
        Assert.Equal(Vectors - 1, _config.GuestRead16(cap + 2));
        Assert.Equal(TableOffset | 1, _config.GuestRead32(cap + 4));
        Assert.Equal(PbaOffset | 1, _config.GuestRead32(cap + 8));
        Assert.Equal(cap, _config.GuestRead8(0x34));
        Assert.Equal(0x10, _config.GuestRead16(0x06) & 0x10);
    }

    [Fact]
    public void OnlyEnableAndFunctionMaskAreWritable()
    {
        int cap = _msix.CapabilityOffset;
        _config.GuestWrite32(cap, 0xFFFF_FFFF);
        _config.GuestWrite32(cap + 4, 0xFFFF_FFFF);
        _config.GuestWrite32(cap + 8, 0);
        Assert.Equal(0xC000 | (Vectors - 1), _config.GuestRead16(cap + 2));
        Assert.Equal(TableOffset | 1, _config.GuestRead32(cap + 4));
        Assert.Equal(PbaOffset | 1, _config.GuestRead32(cap + 8));
        Assert.True(_msix.IsEnabled);
        Assert.True(_msix.IsFunctionMasked);
    }

    [Fact]
    public void EntriesStartMaskedAndZero()
    {
        for (int vector = 0; vector < Vectors; vector++)
        {
            Assert.Equal(0u, _msix.Table.ReadUInt32((ulong)vector * 16));
            Assert.Equal(0u, _msix.Table.ReadUInt32((ulong)vector * 16 + 8));
            Assert.Equal(1u, _msix.Table.ReadUInt32((ulong)vector * 16 + 12));
        }
        Assert.Empty(_group.Calls);
    }

    [Fact]
    public void NotifyWhileDisabledSetsThePendingBitOnly()
    {
        Program(2, 0x41, masked: false);
        _group.Calls.Clear();
        _msix.Notify(2);

        Assert.Empty(_group.Calls);
        Assert.True(_msix.IsPending(2));
        Assert.Equal(0b100u, _msix.PendingBits.ReadUInt32(0));
    }

    [Fact]
    public void EnablingDeliversUnmaskedVectorsAndPendingOnes()
    {
        Program(0, 0x40, masked: false);
        Program(1, 0x41, masked: true);
        _msix.Notify(0);
        _group.Calls.Clear();

        SetControl(MsixCapabilityLayout.Enable);

        // Vector 0 becomes effectively unmasked and its pending message is sent; vector 1 stays masked.
        Assert.Equal<Call>([new Updated(0, Message(0x40), false), new Triggered(0)], _group.Calls);
        Assert.False(_msix.IsPending(0));
        Assert.Equal(0u, _msix.PendingBits.ReadUInt32(0));

        _group.Calls.Clear();
        _msix.Notify(0);
        Assert.Equal<Call>([new Triggered(0)], _group.Calls);
    }

    [Fact]
    public void FunctionMaskHoldsEveryVectorAndReleasesPendingOnClear()
    {
        Program(0, 0x40, masked: false);
        Program(3, 0x43, masked: false);
        SetControl(MsixCapabilityLayout.Enable);
        _group.Calls.Clear();

        SetControl(MsixCapabilityLayout.Enable | MsixCapabilityLayout.FunctionMask);
        Assert.Equal<Call>([new Updated(0, Message(0x40), true), new Updated(3, Message(0x43), true)], _group.Calls);

        _group.Calls.Clear();
        _msix.Notify(3);
        Assert.Empty(_group.Calls);
        Assert.True(_msix.IsPending(3));
        // The entry's own mask bit is untouched by the function mask.
        Assert.Equal(0u, _msix.Table.ReadUInt32(3 * 16 + 12));

        SetControl(MsixCapabilityLayout.Enable);
        Assert.Equal<Call>(
            [new Updated(0, Message(0x40), false), new Updated(3, Message(0x43), false), new Triggered(3)], _group.Calls);
        Assert.False(_msix.IsPending(3));
    }

    [Fact]
    public void UnmaskingAPendingVectorDeliversItOnce()
    {
        Program(1, 0x51, masked: true);
        SetControl(MsixCapabilityLayout.Enable);
        _msix.Notify(1);
        _msix.Notify(1);
        Assert.True(_msix.IsPending(1));
        _group.Calls.Clear();

        _msix.Table.WriteUInt32(1 * 16 + 12, 0);
        Assert.Equal<Call>([new Updated(1, Message(0x51), false), new Triggered(1)], _group.Calls);
        Assert.False(_msix.IsPending(1));

        // Masking again is an Update, and the next notification pends.
        _group.Calls.Clear();
        _msix.Table.WriteUInt32(1 * 16 + 12, 1);
        _msix.Notify(1);
        Assert.Equal<Call>([new Updated(1, Message(0x51), true)], _group.Calls);
        Assert.True(_msix.IsPending(1));
    }

    [Fact]
    public void MessageChangesAreUpdatedEvenWhileMasked()
    {
        _msix.Table.WriteUInt32(8, 0x99);
        Assert.Equal<Call>([new Updated(0, new MsiMessage(0, 0x99), true)], _group.Calls);

        // Writing the same value again changes nothing.
        _group.Calls.Clear();
        _msix.Table.WriteUInt32(8, 0x99);
        Assert.Empty(_group.Calls);
    }

    [Fact]
    public void QwordWriteOfTheAddressIsOneUpdate()
    {
        _msix.Table.WriteUInt64(2 * 16, 0x0000_0001_FEE0_1000);
        Assert.Equal<Call>([new Updated(2, new MsiMessage(0x1_FEE0_1000, 0), true)], _group.Calls);
        Assert.Equal(0x0000_0001_FEE0_1000UL, _msix.Table.ReadUInt64(2 * 16));

        _group.Calls.Clear();
        SetControl(MsixCapabilityLayout.Enable);
        _msix.Table.WriteUInt64(2 * 16 + 8, 0x0000_0000_0000_0042);   // data 0x42, unmasked
        Assert.Equal<Call>([new Updated(2, new MsiMessage(0x1_FEE0_1000, 0x42), false)], _group.Calls);
        Assert.False(_msix.IsEffectivelyMasked(2));
    }

    [Fact]
    public void ReservedBitsReadZero()
    {
        _msix.Table.WriteUInt32(0, 0xFEE0_0003);
        _msix.Table.WriteUInt32(12, 0xFFFF_FFFE);
        Assert.Equal(0xFEE0_0000u, _msix.Table.ReadUInt32(0));
        Assert.Equal(0u, _msix.Table.ReadUInt32(12));
        Assert.False(_msix.Entry(0).Masked);
    }

    [Theory]
    [InlineData(0UL, 1)]
    [InlineData(0UL, 2)]
    [InlineData(2UL, 4)]
    [InlineData(4UL, 8)]
    [InlineData(8UL, 3)]
    [InlineData(Vectors * 16UL, 4)]
    [InlineData(Vectors * 16UL - 4, 8)]
    [InlineData(ulong.MaxValue - 3, 4)]
    public void TableIgnoresUnalignedOddAndOutOfRangeAccesses(ulong offset, int width)
    {
        _msix.Table.Write(offset, Enumerable.Repeat((byte)0x00, width).ToArray());
        var read = new byte[width];
        _msix.Table.Read(offset, read);

        Assert.All(read, b => Assert.Equal(0, b));
        Assert.Empty(_group.Calls);
        for (int vector = 0; vector < Vectors; vector++)
            Assert.Equal(MsixTableEntry.Reset, _msix.Entry(vector));
        Assert.Equal(2, _msix.IgnoredAccesses);
    }

    [Fact]
    public void PbaIsReadOnlyAndReadableAsQwords()
    {
        _msix.Notify(0);
        _msix.Notify(3);
        _msix.PendingBits.WriteUInt64(0, 0);
        Assert.Equal(0b1001UL, _msix.PendingBits.ReadUInt64(0));
        Assert.Equal(0u, _msix.PendingBits.ReadUInt32(4));
        Assert.Equal(0b1001u, _msix.PendingBits.ReadUInt32(0));
        Assert.Equal(0u, _msix.PendingBits.ReadUInt32(8));   // past the PBA
        Assert.Equal(0u, _msix.PendingBits.ReadUInt32(2));   // unaligned
    }

    [Fact]
    public void LargeTablesSpreadPendingBitsOverQwords()
    {
        var config = new PciConfigSpace(new PciFunctionIdentity(0x1AF4, 0x1041, new PciClassCode(0x02, 0x00, 0x00)));
        config.SetBar(0, PciBar.Memory64(0x4000));
        var group = new RecordingMsiVectorGroup(65);
        var msix = new MsixController(config, group, 0, 0x0000, 0, 0x2000);
        Assert.Equal(16u, MsixController.PbaLength(65));
        Assert.Equal(64, config.GuestRead16(msix.CapabilityOffset + 2) & 0x7FF);

        msix.Notify(64);
        Assert.Equal(0UL, msix.PendingBits.ReadUInt64(0));
        Assert.Equal(1UL, msix.PendingBits.ReadUInt64(8));
        Assert.Equal(1u, msix.PendingBits.ReadUInt32(8));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(Vectors)]
    [InlineData(int.MaxValue)]
    public void NotifyOfAVectorOutsideTheTableIsIgnored(int vector)
    {
        SetControl(MsixCapabilityLayout.Enable);
        _msix.Notify(vector);
        Assert.Empty(_group.Calls);
        Assert.Equal(0UL, _msix.PendingBits.ReadUInt64(0));
    }

    [Fact]
    public void ConfigWritesElsewhereLeaveVectorsAlone()
    {
        Program(0, 0x40, masked: false);
        SetControl(MsixCapabilityLayout.Enable);
        _group.Calls.Clear();
        _config.GuestWrite16(0x04, (ushort)PciCommand.BusMaster);
        _config.GuestWrite8(_msix.CapabilityOffset + 2, 0xFF);   // the read-only low byte of Message Control
        Assert.Empty(_group.Calls);
        Assert.True(_msix.IsEnabled);
    }

    [Fact]
    public void PlacementIsChecked()
    {
        var config = new PciConfigSpace(new PciFunctionIdentity(0x1AF4, 0x1041, new PciClassCode(0x02, 0x00, 0x00)));
        config.SetBar(0, PciBar.Memory32(0x1000));
        config.SetBar(1, PciBar.Io(0x100));
        var group = new RecordingMsiVectorGroup(8);
        Assert.Throws<ArgumentException>(() => new MsixController(config, group, 2, 0, 0, 0x800));     // no BAR 2
        Assert.Throws<ArgumentException>(() => new MsixController(config, group, 1, 0, 0, 0x800));     // I/O BAR
        Assert.Throws<ArgumentException>(() => new MsixController(config, group, 0, 4, 0, 0x800));     // not qword aligned
        Assert.Throws<ArgumentException>(() => new MsixController(config, group, 0, 0xFC0, 0, 0x800)); // runs past the BAR
        Assert.Throws<ArgumentException>(() => new MsixController(config, group, 0, 0, 0, 0x40));      // PBA inside the table
        Assert.Throws<ArgumentOutOfRangeException>(() => new MsixController(config, new RecordingMsiVectorGroup(2049), 0, 0, 0, 0x800));
        Assert.Empty(config.Capabilities.Entries);
    }
}
