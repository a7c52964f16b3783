using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>The VM's kvmclock (<c>struct kvm_clock_data</c>, 48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ClockData
{
    public ulong Clock;
    public uint Flags;
    private uint _padding0;
    public ulong Realtime;
    public ulong HostTsc;
    private fixed uint _padding[4];
}
