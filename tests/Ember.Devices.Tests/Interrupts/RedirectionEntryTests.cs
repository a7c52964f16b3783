using Ember.Devices.Interrupts;
using Xunit;

namespace Ember.Devices.Tests.Interrupts;

public sealed class RedirectionEntryTests
{
    [Fact]
    public void AccessorsReadTheDatasheetBitPositions()
    {
        var entry = new RedirectionEntry(0xAB00_0000_0001_FFC5);

        Assert.Equal(0xC5, entry.Vector);
        Assert.Equal(DeliveryMode.ExtInt, entry.DeliveryMode);
        Assert.Equal(DestinationMode.Logical, entry.DestinationMode);
        Assert.True(entry.DeliveryStatus);
        Assert.Equal(PinPolarity.ActiveLow, entry.Polarity);
        Assert.True(entry.RemoteIrr);
        Assert.Equal(TriggerMode.Level, entry.TriggerMode);
        Assert.True(entry.Masked);
        Assert.Equal(0xAB, entry.Destination);
    }

    [Fact]
    public void WithMethodsChangeOnlyTheirField()
    {
        var entry = new RedirectionEntry(0)
            .WithVector(0x31)
            .WithDeliveryMode(DeliveryMode.LowestPriority)
            .WithDestinationMode(DestinationMode.Logical)
            .WithPolarity(PinPolarity.ActiveLow)
            .WithTriggerMode(TriggerMode.Level)
            .WithMasked(true)
            .WithDestination(0x0F);

        Assert.Equal(0x0F00_0000_0001_A931ul, entry.Raw);
        Assert.Equal(0x0F00_0000_0001_A930ul, entry.WithVector(0x30).Raw);
        Assert.Equal(entry.Raw, entry.WithRemoteIrr(true).WithRemoteIrr(false).Raw);
    }

    [Fact]
    public void GuestWriteKeepsReadOnlyBits()
    {
        var entry = new RedirectionEntry(0).WithRemoteIrr(true);

        var written = entry.WithGuestWrite(0);

        Assert.True(written.RemoteIrr);
        Assert.Equal(0ul, entry.WithGuestWrite(ulong.MaxValue).Raw & 0x00FF_FFFF_FFFE_0000);
    }

    [Fact]
    public void EdgeEntryBecomesPhysicalMsi()
    {
        var entry = new RedirectionEntry(0).WithVector(0x31).WithDestination(3);

        var msi = entry.ToMsi();

        Assert.Equal(0xFEE0_3000ul, msi.Address);
        Assert.Equal(0x31u, msi.Data);
    }

    [Fact]
    public void LevelLogicalEntryCarriesTriggerAndAssertInMsiData()
    {
        var entry = new RedirectionEntry(0)
            .WithVector(0x41)
            .WithDeliveryMode(DeliveryMode.LowestPriority)
            .WithDestinationMode(DestinationMode.Logical)
            .WithTriggerMode(TriggerMode.Level)
            .WithDestination(0x0F)
            .WithMasked(true);

        var msi = entry.ToMsi();

        // Address: 0xFEE | dest 19:12 | DM bit 2. Data: vector | mode 10:8 | assert 14 | level 15.
        Assert.Equal(0xFEE0_F004ul, msi.Address);
        Assert.Equal(0xC141u, msi.Data);
    }
}
