namespace Ember.Bench.GuestVirtio;

/// <summary>
/// What the host saw when the guest wrote the boot timer's magic byte, taken on the vCPU thread inside that MMIO exit
/// (so the guest stands still meanwhile): the time, the vCPU exits to user space by reason so far (that mark's own exit
/// included: Ember counts an exit before it dispatches it) and the queue notifications that reached a notify region.
/// </summary>
/// <param name="Timestamp">A <see cref="System.Diagnostics.Stopwatch"/> timestamp: taken after the counters for a loop's first mark, before them for its last.</param>
/// <param name="Exits">Exits by reason, Ember's metrics names (io, mmio, hlt, irq_window_open, ...).</param>
/// <param name="NotifyExits">Sum over the virtio functions of <c>NotifyRegionWrites</c>: doorbells that exited instead of hitting an ioeventfd.</param>
/// <param name="RunTimeMicroseconds">Time the vCPU spent inside KVM_RUN so far.</param>
internal sealed record PhaseMark(long Timestamp, IReadOnlyDictionary<string, long> Exits, long NotifyExits, long RunTimeMicroseconds);
