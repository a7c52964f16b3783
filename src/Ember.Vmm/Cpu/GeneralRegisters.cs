using Ember.Kvm;

namespace Ember.Vmm.Cpu;

/// <summary>
/// The general-purpose registers by their x86 encoding number (0 rax, 1 rcx, 2 rdx, 3 rbx, 4 rsp, 5 rbp,
/// 6 rsi, 7 rdi, 8-15 r8-r15), which is not the order of <c>struct kvm_regs</c>.
/// </summary>
public static class GeneralRegisters
{
    public static ulong Read(in Registers regs, int number) => number switch
    {
        0 => regs.Rax, 1 => regs.Rcx, 2 => regs.Rdx, 3 => regs.Rbx,
        4 => regs.Rsp, 5 => regs.Rbp, 6 => regs.Rsi, 7 => regs.Rdi,
        8 => regs.R8, 9 => regs.R9, 10 => regs.R10, 11 => regs.R11,
        12 => regs.R12, 13 => regs.R13, 14 => regs.R14, 15 => regs.R15,
        _ => throw new ArgumentOutOfRangeException(nameof(number)),
    };

    public static void Write(ref Registers regs, int number, ulong value)
    {
        switch (number)
        {
            case 0: regs.Rax = value; break;
            case 1: regs.Rcx = value; break;
            case 2: regs.Rdx = value; break;
            case 3: regs.Rbx = value; break;
            case 4: regs.Rsp = value; break;
            case 5: regs.Rbp = value; break;
            case 6: regs.Rsi = value; break;
            case 7: regs.Rdi = value; break;
            case 8: regs.R8 = value; break;
            case 9: regs.R9 = value; break;
            case 10: regs.R10 = value; break;
            case 11: regs.R11 = value; break;
            case 12: regs.R12 = value; break;
            case 13: regs.R13 = value; break;
            case 14: regs.R14 = value; break;
            case 15: regs.R15 = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(number));
        }
    }
}
