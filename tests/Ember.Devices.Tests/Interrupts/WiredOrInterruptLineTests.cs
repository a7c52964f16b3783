using Ember.Devices.Interrupts;
using Ember.Devices.Tests.Fakes;

namespace Ember.Devices.Tests.Interrupts;

public sealed class WiredOrInterruptLineTests
{
    [Fact]
    public void TheWireStaysAssertedUntilEveryInputHasDropped()
    {
        var output = new RecordingInterruptLine();
        var wire = new WiredOrInterruptLine(output);
        var first = wire.AddInput();
        var second = wire.AddInput();

        first.SetLevel(true);
        second.SetLevel(true);
        first.SetLevel(false);
        Assert.True(output.Level);            // the second device still requests
        Assert.Equal(1, wire.AssertedInputs);

        second.SetLevel(false);
        Assert.False(output.Level);
        Assert.Equal([true, false], output.History);
    }

    [Fact]
    public void RepeatingALevelOnOneInputCountsOnce()
    {
        var output = new RecordingInterruptLine();
        var wire = new WiredOrInterruptLine(output);
        var input = wire.AddInput();
        var other = wire.AddInput();

        input.SetLevel(true);
        input.SetLevel(true);
        other.SetLevel(false);               // never asserted: no change
        input.SetLevel(false);

        Assert.False(output.Level);
        Assert.Equal(0, wire.AssertedInputs);
        Assert.Equal([true, false], output.History);
    }
}
