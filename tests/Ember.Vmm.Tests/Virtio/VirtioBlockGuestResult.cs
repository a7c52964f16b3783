using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>How one <see cref="VirtioBlockGuestRun"/> went.</summary>
/// <param name="Exit">How the machine ended.</param>
/// <param name="Report">What the guest printed on COM1, parsed.</param>
/// <param name="Console">What the guest printed on COM1.</param>
/// <param name="Elapsed">From just before the machine was built until it had stopped.</param>
/// <param name="RequestPhase">From the guest's (first) marker right before its first request until the machine had stopped; null if it never got there.</param>
/// <param name="NotifyRegionWrites">Per virtio function (slot order): queue notifications that reached the notify region as MMIO exits.</param>
/// <param name="AttachedDoorbells">Per virtio function: ioeventfd doorbells attached when the guest had finished.</param>
/// <param name="MmioExits">MMIO exits to user space over the whole run.</param>
/// <param name="Marks">Times the guest wrote the boot timer's magic (once, or twice per step with <see cref="VirtioBlockGuestProgram.MarkEachStep"/>).</param>
public sealed record VirtioBlockGuestResult(
    MachineExit Exit,
    VirtioBlockGuestReport Report,
    string Console,
    TimeSpan Elapsed,
    TimeSpan? RequestPhase,
    IReadOnlyList<long> NotifyRegionWrites,
    IReadOnlyList<int> AttachedDoorbells,
    long MmioExits,
    int Marks)
{
    /// <summary>The guest's outcome, or null when it did not end through the debug-exit port.</summary>
    public VirtioGuestOutcome? Outcome => Exit.Reason == MachineStopReason.DebugExit ? (VirtioGuestOutcome)Exit.DebugExitValue : null;

    /// <summary>Asserts the guest ran every step and said so, with the details if it did not.</summary>
    public void AssertSucceeded()
    {
        Assert.True(Outcome == VirtioGuestOutcome.Success && Report.Done && Report.Failure is null,
            $"the virtio-blk guest did not succeed: {Exit.Reason} {Exit.Message}; outcome {Outcome}; {Report.Failure}\nconsole:\n{Console}");
    }
}
