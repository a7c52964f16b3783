using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>How an <see cref="InterruptGuest"/> program ended and what it counted.</summary>
internal sealed record GuestOutcome(MachineExit Exit, uint Counter, uint Unexpected, uint NmiCount, TimeSpan GuestElapsed, string UnexpectedFrame)
{
    /// <summary>Asserts the guest exited through its success path with no stray interrupt or exception.</summary>
    public void AssertSucceeded()
    {
        Assert.True(Unexpected == 0, $"the guest took an unexpected interrupt or exception (frame {UnexpectedFrame}); exit: {Exit.Reason} {Exit.Message}");
        Assert.True(Exit.Reason == MachineStopReason.DebugExit, $"the guest did not finish: {Exit.Reason} {Exit.Message} (counter {Counter}, NMIs {NmiCount})");
        Assert.Equal((InterruptGuest.DebugExitSuccess << 1) | 1, Exit.ExitCode);
    }
}
