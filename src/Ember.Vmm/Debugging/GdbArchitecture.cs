namespace Ember.Vmm.Debugging;

/// <summary>Which of GDB's x86 register sets (and target description) a debugging session uses.</summary>
internal enum GdbArchitecture
{
    /// <summary>i386:x86-64: rax..r15, rip, 64-bit segment bases, xmm0-15.</summary>
    Amd64,

    /// <summary>i386: eax..edi, eip, xmm0-7; for a guest in real or protected mode when GDB connects.</summary>
    I386,
}
