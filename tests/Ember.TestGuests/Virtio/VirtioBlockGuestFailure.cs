namespace Ember.TestGuests.Virtio;

/// <summary>The virtio-blk test guest's "FAIL" line: what failed, in which step (null during bring-up) and request, with the last status byte.</summary>
public sealed record VirtioBlockGuestFailure(VirtioGuestOutcome Outcome, int? Step, uint Request, byte Status)
{
    public override string ToString() =>
        $"{Outcome} {(Step is { } step ? $"in step {step}, request {Request}" : "during bring-up")} (status byte 0x{Status:x2})";
}
