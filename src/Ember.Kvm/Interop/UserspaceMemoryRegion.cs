using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_userspace_memory_region</c>, 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct UserspaceMemoryRegion
{
    public const uint FlagLogDirtyPages = 1;
    public const uint FlagReadOnly = 2;

    public uint Slot;
    public uint Flags;
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;
}
