using Ember.Devices.Legacy;
using Ember.Devices.RateLimiting;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

/// <summary>The serial rate limiter: the bucket's bytes go through, the rest is dropped and counted, refills let more through.</summary>
public sealed class RateLimitedSerialOutputTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingSerialOutput _sink = new();

    [Fact]
    public void TheBucketAndItsBurstGoThroughAndEveryByteBeyondIsDroppedAndCounted()
    {
        var output = new RateLimitedSerialOutput(_sink, new TokenBucketSettings(Size: 10, RefillTimeMs: 1000, OneTimeBurst: 5), _clock);

        for (int i = 0; i < 40; i++)
            output.Write([(byte)('a' + i % 26)]);

        Assert.Equal("abcdefghijklmno"u8.ToArray(), _sink.Bytes);
        Assert.Equal(25, output.DroppedBytes);
    }

    [Fact]
    public void TokensComeBackAtSizePerRefillTime()
    {
        var output = new RateLimitedSerialOutput(_sink, new TokenBucketSettings(Size: 100, RefillTimeMs: 1000), _clock);
        output.Write(new byte[150]);
        Assert.Equal(100, _sink.Bytes.Length);
        Assert.Equal(50, output.DroppedBytes);

        // A tenth of the refill time brings back a tenth of the bucket.
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        for (int i = 0; i < 20; i++)
            output.Write([(byte)'x']);

        Assert.Equal(110, _sink.Bytes.Length);
        Assert.Equal(60, output.DroppedBytes);

        // Never more than the size, however long the guest was quiet.
        _clock.Advance(TimeSpan.FromHours(1));
        output.Write(new byte[500]);
        Assert.Equal(210, _sink.Bytes.Length);
        Assert.Equal(460, output.DroppedBytes);
    }

    [Fact]
    public void AWriteLongerThanWhatIsLeftIsCutNotHeldOrLetThroughWhole()
    {
        var output = new RateLimitedSerialOutput(_sink, new TokenBucketSettings(Size: 4, RefillTimeMs: 1000), _clock);

        output.Write("hello, world"u8);
        output.Write("more"u8);

        Assert.Equal("hell"u8.ToArray(), _sink.Bytes);
        Assert.Equal(12, output.DroppedBytes);
    }

    [Fact]
    public void TheUartsBytesPassThroughTheLimiterAndTheUartNeverNotices()
    {
        var output = new RateLimitedSerialOutput(_sink, new TokenBucketSettings(Size: 3, RefillTimeMs: 60_000), _clock);
        var uart = new Serial16550(output, new RecordingInterruptLine());

        // Data (THR) at offset 0, LSR at 5 with THRE in bit 5 (PC16550D Table II).
        foreach (byte b in "abcdef"u8.ToArray())
        {
            uart.WriteByte(0, b);
            // The transmitter is empty again at once, dropped byte or not: the guest is never held up.
            Assert.NotEqual(0, uart.ReadByte(5) & 0x20);
        }

        Assert.Equal("abc"u8.ToArray(), _sink.Bytes);
        Assert.Equal(3, output.DroppedBytes);
    }

    [Fact]
    public void AnUnlimitedBucketIsRefused() =>
        Assert.Throws<ArgumentException>(() => new RateLimitedSerialOutput(_sink, new TokenBucketSettings(0, 1000), _clock));
}
