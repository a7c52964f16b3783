using Ember.Devices.Legacy;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class IgnoredPortTests
{
    [Fact]
    public void ReadsZeroRemembersLastPostCodeAndCountsWrites()
    {
        var port = new IgnoredPort();

        port.WriteByte(0, 0x12);
        port.WriteByte(0, 0x34);
        port.WriteUInt32(0, 0xAABB_CC56);
        port.WriteByte(3, 0x99);

        Assert.Equal(0x56, port.LastPostCode);
        Assert.Equal(4, port.Writes);
        Assert.Equal(0u, port.ReadUInt32(0));
    }
}
