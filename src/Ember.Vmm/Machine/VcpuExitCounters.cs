using System.Diagnostics;
using Ember.Kvm;

namespace Ember.Vmm.Machine;

/// <summary>
/// One vCPU's exits to user space, by reason, and the time it spent inside KVM_RUN. Written only by the
/// vCPU's own thread (no atomics on the exit path), read by anyone: each count is one aligned 64-bit word,
/// so a reader sees a recent value, never a torn one.
/// </summary>
public sealed class VcpuExitCounters
{
    /// <summary>Reasons above this (none that Ember meets) are counted together as the last slot.</summary>
    private const int Slots = 32;

    private readonly long[] _byReason = new long[Slots + 1];
    private long _runTicks;

    /// <summary>The reasons that were counted at least once, with their counts.</summary>
    public IEnumerable<(VcpuExitReason Reason, long Count)> NonZero()
    {
        for (int i = 0; i < Slots; i++)
        {
            long count = Volatile.Read(ref _byReason[i]);
            if (count != 0)
                yield return ((VcpuExitReason)i, count);
        }
    }

    /// <summary>Exits with a reason Ember has no slot for.</summary>
    public long Unlisted => Volatile.Read(ref _byReason[Slots]);

    public long Of(VcpuExitReason reason) => Volatile.Read(ref _byReason[Slot(reason)]);

    /// <summary>Time inside KVM_RUN, guest time and the kernel's exit handling together.</summary>
    public TimeSpan RunTime => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _runTicks));

    internal void Count(VcpuExitReason reason, long runTicks)
    {
        int slot = Slot(reason);
        Volatile.Write(ref _byReason[slot], _byReason[slot] + 1);
        Volatile.Write(ref _runTicks, _runTicks + runTicks);
    }

    private static int Slot(VcpuExitReason reason) => (uint)reason < Slots ? (int)reason : Slots;
}
