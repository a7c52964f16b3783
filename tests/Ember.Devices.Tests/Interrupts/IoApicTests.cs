using System.Buffers.Binary;
using Ember.Devices.Interrupts;
using Xunit;

namespace Ember.Devices.Tests.Interrupts;

public sealed class IoApicTests
{
    private const ulong RegisterSelect = 0x00;
    private const ulong Window = 0x10;
    private const ulong Eoi = 0x40;
    private const byte LevelVector = 0x41;

    private readonly RecordingIoApicDelivery _delivery = new();

    private static void Write32(IoApic ioApic, ulong offset, uint value)
    {
        Span<byte> data = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, value);
        ioApic.Write(offset, data);
    }

    private static uint Read32(IoApic ioApic, ulong offset)
    {
        Span<byte> data = stackalloc byte[4];
        ioApic.Read(offset, data);
        return BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    private static uint ReadRegister(IoApic ioApic, byte register)
    {
        Write32(ioApic, RegisterSelect, register);
        return Read32(ioApic, Window);
    }

    private static void WriteRegister(IoApic ioApic, byte register, uint value)
    {
        Write32(ioApic, RegisterSelect, register);
        Write32(ioApic, Window, value);
    }

    private static void Program(IoApic ioApic, int pin, RedirectionEntry entry)
    {
        WriteRegister(ioApic, (byte)(0x11 + 2 * pin), entry.High);
        WriteRegister(ioApic, (byte)(0x10 + 2 * pin), entry.Low);
    }

    private static RedirectionEntry ReadEntry(IoApic ioApic, int pin) =>
        new(((ulong)ReadRegister(ioApic, (byte)(0x11 + 2 * pin)) << 32) | ReadRegister(ioApic, (byte)(0x10 + 2 * pin)));

    private static RedirectionEntry Level(byte vector = LevelVector) =>
        new RedirectionEntry(0).WithVector(vector).WithTriggerMode(TriggerMode.Level).WithDestination(1);

    private static RedirectionEntry Edge(byte vector = 0x30) => new RedirectionEntry(0).WithVector(vector).WithDestination(1);

    [Theory]
    [InlineData(IoApicVersion.I82093AA, 0x0017_0011u)]
    [InlineData(IoApicVersion.WithEoiRegister, 0x0017_0020u)]
    public void VersionRegisterReportsVersionAndMaximumRedirectionEntry(IoApicVersion version, uint expected)
    {
        var ioApic = new IoApic(_delivery, version);

        Assert.Equal(expected, ReadRegister(ioApic, 0x01));
        WriteRegister(ioApic, 0x01, 0xFFFF_FFFF);
        Assert.Equal(expected, ReadRegister(ioApic, 0x01));
    }

    [Fact]
    public void IdKeepsOnlyBits27To24AndArbitrationFollowsIt()
    {
        var ioApic = new IoApic(_delivery);

        WriteRegister(ioApic, 0x00, 0xFFFF_FFFF);

        Assert.Equal(0x0F00_0000u, ReadRegister(ioApic, 0x00));
        Assert.Equal(0x0F00_0000u, ReadRegister(ioApic, 0x02));
        WriteRegister(ioApic, 0x02, 0);
        Assert.Equal(0x0F00_0000u, ReadRegister(ioApic, 0x02));
    }

    [Fact]
    public void RegisterSelectReadsBackItsLowByte()
    {
        var ioApic = new IoApic(_delivery);

        Write32(ioApic, RegisterSelect, 0x1234_5613);

        Assert.Equal(0x13u, Read32(ioApic, RegisterSelect));
    }

    [Fact]
    public void EntriesStartMasked()
    {
        var ioApic = new IoApic(_delivery);

        for (int pin = 0; pin < IoApic.PinCount; pin++)
        {
            Assert.Equal(0x0001_0000u, ReadRegister(ioApic, (byte)(0x10 + 2 * pin)));
            Assert.Equal(0u, ReadRegister(ioApic, (byte)(0x11 + 2 * pin)));
        }
    }

    [Fact]
    public void ReadOnlyAndReservedBitsIgnoreWrites()
    {
        var ioApic = new IoApic(_delivery);

        WriteRegister(ioApic, 0x10, 0xFFFF_FFFF);
        WriteRegister(ioApic, 0x11, 0xFFFF_FFFF);

        // Bits 12 (delivery status), 14 (remote IRR) and 31:17 (reserved) stay 0; 55:32 reserved too.
        Assert.Equal(0x0001_AFFFu, ReadRegister(ioApic, 0x10));
        Assert.Equal(0xFF00_0000u, ReadRegister(ioApic, 0x11));
    }

    [Fact]
    public void UnknownRegistersReadZeroAndOddWidthsAreDropped()
    {
        var ioApic = new IoApic(_delivery);
        Program(ioApic, 0, Edge(0x55));

        Assert.Equal(0u, ReadRegister(ioApic, 0x40));
        Assert.Equal(0u, ReadRegister(ioApic, 0x03));

        Write32(ioApic, RegisterSelect, 0x10);
        ioApic.Write(Window, [0xAA, 0xAA]);
        ioApic.Write(Window, new byte[8]);
        Span<byte> wide = stackalloc byte[8];
        ioApic.Read(Window, wide);
        ioApic.Write(0x20, [1, 2, 3, 4]);

        Assert.Equal(0x55, ReadEntry(ioApic, 0).Vector);
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64LittleEndian(wide));
        Assert.Equal(4, ioApic.DroppedAccesses);
    }

    [Fact]
    public void EdgePinDeliversOncePerRisingEdge()
    {
        var ioApic = new IoApic(_delivery);
        Program(ioApic, 4, Edge(0x34));
        var pin = ioApic.GetPin(4);

        pin.SetLevel(true);
        pin.SetLevel(true);
        Assert.Equal(1, _delivery.DeliveriesTo(4));
        pin.SetLevel(false);
        pin.Pulse();

        Assert.Equal(2, _delivery.DeliveriesTo(4));
        Assert.All(_delivery.Deliveries, d => Assert.Equal(0x34, d.Entry.Vector));
    }

    [Fact]
    public void MaskedEdgeIsLostNotHeldPending()
    {
        var ioApic = new IoApic(_delivery);
        Program(ioApic, 3, Edge().WithMasked(true));

        ioApic.SetPinLevel(3, true);
        Program(ioApic, 3, Edge());

        Assert.Empty(_delivery.Deliveries);
    }

    [Fact]
    public void MaskedLevelPinDeliversWhenUnmaskedWhileAsserted()
    {
        var ioApic = new IoApic(_delivery);
        Program(ioApic, 9, Level().WithMasked(true));

        ioApic.SetPinLevel(9, true);
        Assert.Empty(_delivery.Deliveries);
        Program(ioApic, 9, Level());

        Assert.Equal(1, _delivery.DeliveriesTo(9));
        Assert.True(ReadEntry(ioApic, 9).RemoteIrr);
    }

    [Fact]
    public void LevelPinRedeliversAfterEoiWhileHeldAndNotAfterItDrops()
    {
        var ioApic = new IoApic(_delivery);
        var eois = new List<int>();
        ioApic.LevelEoi += eois.Add;
        Program(ioApic, 10, Level());

        ioApic.SetPinLevel(10, true);
        ioApic.SetPinLevel(10, true);
        Assert.Equal(1, _delivery.DeliveriesTo(10));

        ioApic.EndOfInterrupt(LevelVector);
        Assert.Equal(2, _delivery.DeliveriesTo(10));
        Assert.True(ReadEntry(ioApic, 10).RemoteIrr);

        ioApic.SetPinLevel(10, false);
        ioApic.EndOfInterrupt(LevelVector);

        Assert.Equal(2, _delivery.DeliveriesTo(10));
        Assert.False(ReadEntry(ioApic, 10).RemoteIrr);
        Assert.Equal([10, 10], eois);
    }

    [Fact]
    public void EoiForAnotherVectorLeavesRemoteIrrSet()
    {
        var ioApic = new IoApic(_delivery);
        Program(ioApic, 10, Level());
        ioApic.SetPinLevel(10, true);

        ioApic.EndOfInterrupt(LevelVector + 1);

        Assert.True(ReadEntry(ioApic, 10).RemoteIrr);
        Assert.Equal(1, _delivery.DeliveriesTo(10));
    }

    [Fact]
    public void EoiRegisterExistsOnlyInVersion0x20()
    {
        var modern = new IoApic(_delivery, IoApicVersion.WithEoiRegister);
        var original = new IoApic(new RecordingIoApicDelivery(), IoApicVersion.I82093AA);
        foreach (var ioApic in new[] { modern, original })
        {
            Program(ioApic, 5, Level());
            ioApic.SetPinLevel(5, true);
            ioApic.SetPinLevel(5, false);
            Write32(ioApic, Eoi, LevelVector);
        }

        Assert.False(ReadEntry(modern, 5).RemoteIrr);
        Assert.True(ReadEntry(original, 5).RemoteIrr);
        Assert.Equal(1, original.DroppedAccesses);
    }

    [Fact]
    public void SwitchingToEdgeClearsRemoteIrr()
    {
        // Linux acknowledges level interrupts on IOAPICs without an EOI register this way.
        var ioApic = new IoApic(_delivery, IoApicVersion.I82093AA);
        Program(ioApic, 6, Level());
        ioApic.SetPinLevel(6, true);
        ioApic.SetPinLevel(6, false);
        Assert.True(ReadEntry(ioApic, 6).RemoteIrr);

        Program(ioApic, 6, Level().WithTriggerMode(TriggerMode.Edge).WithMasked(true));
        Program(ioApic, 6, Level());

        Assert.False(ReadEntry(ioApic, 6).RemoteIrr);
    }

    [Fact]
    public void StormGuardDefersAfterThresholdAndRetryDelivers()
    {
        var ioApic = new IoApic(_delivery, stormThreshold: 3);
        var deferred = new List<int>();
        ioApic.DeliveryDeferred += deferred.Add;
        Program(ioApic, 11, Level());
        ioApic.SetPinLevel(11, true);

        for (int i = 0; i < 3; i++)
            ioApic.EndOfInterrupt(LevelVector);
        Assert.Equal(4, _delivery.DeliveriesTo(11));
        Assert.False(ioApic.HasDeferredDeliveries);

        ioApic.EndOfInterrupt(LevelVector);
        Assert.Equal(4, _delivery.DeliveriesTo(11));
        Assert.True(ioApic.HasDeferredDeliveries);
        Assert.Equal([11], deferred);
        Assert.Equal(1, ioApic.StormDeferrals);

        ioApic.RetryDeferred();
        Assert.Equal(5, _delivery.DeliveriesTo(11));
        Assert.False(ioApic.HasDeferredDeliveries);
    }

    [Fact]
    public void StormCountRestartsWhenTheLineDrops()
    {
        var ioApic = new IoApic(_delivery, stormThreshold: 2);
        Program(ioApic, 11, Level());

        for (int round = 0; round < 3; round++)
        {
            ioApic.SetPinLevel(11, true);
            ioApic.EndOfInterrupt(LevelVector);
            ioApic.EndOfInterrupt(LevelVector);
            ioApic.SetPinLevel(11, false);
            ioApic.EndOfInterrupt(LevelVector);
        }

        Assert.Equal(9, _delivery.DeliveriesTo(11));
        Assert.False(ioApic.HasDeferredDeliveries);
    }

    [Fact]
    public void EntryChangedReportsWritableChangesOnly()
    {
        var ioApic = new IoApic(_delivery);
        var entry = Level(0x50).WithDestination(2);

        Program(ioApic, 7, entry);
        int changes = _delivery.Changes.Count;
        Program(ioApic, 7, entry);
        ioApic.SetPinLevel(7, true); // sets remote IRR only

        Assert.Equal(changes, _delivery.Changes.Count);
        Assert.Equal(7, _delivery.Changes[^1].Pin);
        Assert.Equal(0x50, _delivery.Changes[^1].Entry.Vector);
        Assert.Equal(2, _delivery.Changes[^1].Entry.Destination);
    }

    [Fact]
    public void PinsOutOfRangeAreIgnored()
    {
        var ioApic = new IoApic(_delivery);

        ioApic.SetPinLevel(-1, true);
        ioApic.SetPinLevel(IoApic.PinCount, true);

        Assert.Empty(_delivery.Deliveries);
        Assert.False(ioApic.GetPinLevel(IoApic.PinCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => ioApic.GetPin(IoApic.PinCount));
    }

    [Fact]
    public void StateRoundTripKeepsRegistersAndPendingEoi()
    {
        var ioApic = new IoApic(_delivery, IoApicVersion.I82093AA);
        WriteRegister(ioApic, 0x00, 0x0300_0000);
        Program(ioApic, 2, Edge(0x22));
        Program(ioApic, 12, Level(0x62));
        ioApic.SetPinLevel(12, true);

        var delivery = new RecordingIoApicDelivery();
        var restored = IoApic.FromState(ioApic.GetState(), delivery);

        Assert.Equal(IoApicVersion.I82093AA, restored.Version);
        Assert.Equal(0x0300_0000u, ReadRegister(restored, 0x00));
        Assert.Equal(ReadEntry(ioApic, 2), ReadEntry(restored, 2));
        Assert.True(ReadEntry(restored, 12).RemoteIrr);
        restored.EndOfInterrupt(0x62);
        Assert.Equal(1, delivery.DeliveriesTo(12));
    }
}
