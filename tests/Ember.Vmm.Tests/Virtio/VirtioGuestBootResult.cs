using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>How one <see cref="VirtioGuestBoot.Run"/> went: how the machine ended and what the guest printed on COM1.</summary>
public sealed record VirtioGuestBootResult(MachineExit Exit, string Console)
{
    /// <summary>The guest's outcome, or null when it did not end through the debug-exit port.</summary>
    public VirtioGuestOutcome? Outcome => Exit.Reason == MachineStopReason.DebugExit ? (VirtioGuestOutcome)Exit.DebugExitValue : null;

    /// <summary>Asserts the guest ended with <see cref="VirtioGuestOutcome.Success"/> and said "done", with its console if not.</summary>
    public void AssertSucceeded()
    {
        Assert.True(Outcome == VirtioGuestOutcome.Success && Console.Split('\n').Contains("done"),
            $"the guest did not succeed: {Exit.Reason} {Exit.Message}; outcome {Outcome}\nconsole:\n{Console}");
    }
}
