using Ember.Devices.Interrupts;
using Ember.Devices.Legacy;
using Ember.Devices.Tests.Fakes;
using Xunit;

namespace Ember.Devices.Tests.Legacy;

public sealed class IsaIrqLineDeviceTests
{
    private readonly RecordingInterruptLine[] _lines =
        Enumerable.Range(0, IsaIrqLineDevice.LineCount).Select(_ => new RecordingInterruptLine()).ToArray();
    private readonly IsaIrqLineDevice _device;

    public IsaIrqLineDeviceTests() => _device = new IsaIrqLineDevice(_lines);

    [Fact]
    public void ByteWriteAtOffsetNDrivesLineN()
    {
        _device.WriteByte(3, 1);
        Assert.True(_lines[3].Level);

        _device.WriteByte(3, 0);
        Assert.False(_lines[3].Level);
        Assert.Equal(1, _lines[3].RisingEdges);
        Assert.All(_lines.Where((_, i) => i != 3), line => Assert.Empty(line.History));
    }

    [Fact]
    public void AnyNonZeroValueIsHigh()
    {
        _device.WriteByte(23, 0x80);

        Assert.True(_lines[23].Level);
    }

    [Fact]
    public void WideWritesAndUnwiredOffsetsAreDropped()
    {
        var device = new IsaIrqLineDevice(_lines.Take(4).ToArray());

        device.WriteUInt16(0, 0x0101);
        device.WriteByte(4, 1);

        Assert.All(_lines, line => Assert.Empty(line.History));
        Assert.Equal(2, device.UnhandledAccesses);
    }

    [Fact]
    public void RejectsMoreLinesThanTheBlockAddresses()
    {
        var tooMany = new IInterruptLine[IsaIrqLineDevice.LineCount + 1];
        Array.Fill<IInterruptLine>(tooMany, new RecordingInterruptLine());

        Assert.Throws<ArgumentException>(() => new IsaIrqLineDevice(tooMany));
    }
}
