using Xunit;
using Ember.Devices.Legacy;

namespace Ember.Devices.Tests.Legacy;

public sealed class StreamSerialOutputTests
{
    [Fact]
    public void WritesReachTheStream()
    {
        using var stream = new MemoryStream();
        var output = new StreamSerialOutput(stream);

        output.Write("ok"u8);

        Assert.Equal("ok"u8.ToArray(), stream.ToArray());
        Assert.Equal(0, output.DroppedBytes);
    }

    [Fact]
    public void ClosedStreamDropsAndCountsInsteadOfThrowing()
    {
        var stream = new MemoryStream();
        var output = new StreamSerialOutput(stream);
        stream.Dispose();

        output.Write("lost"u8);

        Assert.Equal(4, output.DroppedBytes);
    }
}
