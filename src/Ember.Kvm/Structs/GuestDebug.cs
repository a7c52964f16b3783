using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>Guest debugging controls and debug registers (<c>struct kvm_guest_debug</c>, 72 bytes on x86).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct GuestDebug
{
    public const uint Enable = 0x1;
    public const uint SingleStep = 0x2;
    public const uint UseSoftwareBreakpoints = 0x10000;
    public const uint UseHardwareBreakpoints = 0x20000;
    public const uint InjectDebugException = 0x40000;
    public const uint InjectBreakpoint = 0x80000;

    public uint Control;
    private uint _padding;
    public fixed ulong DebugRegisters[8];
}
