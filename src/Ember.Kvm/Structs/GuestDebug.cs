using System.Diagnostics.CodeAnalysis;
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
    /// <summary>No interrupt, NMI or SMI is injected while single-stepping (KVM_CAP_SET_GUEST_DEBUG2 lists it), so a step stays in the code stepped.</summary>
    public const uint BlockInterrupts = 0x100000;

    public uint Control;
    private uint _padding;
    /// <summary>DR0–DR3 (addresses), DR6 (unused here), DR7 (enables, types, lengths); index 4 and 5 are unused.</summary>
    public fixed ulong DebugRegisters[8];

    /// <summary><see cref="DebugRegisters"/> as a span: [0..3] DR0–DR3, [7] DR7.</summary>
    [UnscopedRef]
    public Span<ulong> DebugRegisterValues => MemoryMarshal.CreateSpan(ref DebugRegisters[0], 8);
}
