namespace Ember.Vmm.Debugging;

/// <summary>The x86 registers GDB knows, whatever the width or name one architecture gives them.</summary>
internal enum X86Register
{
    Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, Rsp,
    R8, R9, R10, R11, R12, R13, R14, R15,
    Rip, Eflags,
    Cs, Ss, Ds, Es, Fs, Gs,
    St0, St1, St2, St3, St4, St5, St6, St7,
    Fctrl, Fstat, Ftag, Fiseg, Fioff, Foseg, Fooff, Fop,
    Xmm0, Xmm1, Xmm2, Xmm3, Xmm4, Xmm5, Xmm6, Xmm7,
    Xmm8, Xmm9, Xmm10, Xmm11, Xmm12, Xmm13, Xmm14, Xmm15,
    Mxcsr,
    FsBase, GsBase,

    /// <summary>IA32_KERNEL_GS_BASE (MSR 0xC0000102): the GS base <c>swapgs</c> exchanges with the current one.</summary>
    KernelGsBase,

    Cr0, Cr2, Cr3, Cr4, Cr8, Efer,
}
