using System.Runtime.InteropServices;

namespace Ember.Kvm;

/// <summary>x86-64 general purpose registers (<c>struct kvm_regs</c>, 144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Registers
{
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
}
