using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class BootTimerDeviceTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly List<TimeSpan> _reports = [];
    private readonly BootTimerDevice _device;

    public BootTimerDeviceTests()
    {
        _clock.Advance(TimeSpan.FromSeconds(10));
        _device = new BootTimerDevice(_clock, _clock.GetTimestamp());
        _device.BootTimeReported += _reports.Add;
    }

    [Fact]
    public void MagicByteReportsElapsedTimeSinceStart()
    {
        _clock.Advance(TimeSpan.FromMilliseconds(1500));

        _device.WriteByte(0, 123);

        Assert.Equal([TimeSpan.FromMilliseconds(1500)], _reports);
    }

    [Fact]
    public void OtherValuesWidthsAndOffsetsAreIgnored()
    {
        _device.WriteByte(0, 122);
        _device.WriteUInt32(0, 123);
        _device.WriteByte(1, 123);

        Assert.Empty(_reports);
        Assert.Equal(3, _device.IgnoredWrites);
        Assert.Equal(0, _device.ReadByte(0));
    }
}
