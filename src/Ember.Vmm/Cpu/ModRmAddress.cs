using Ember.Kvm;

namespace Ember.Vmm.Cpu;

/// <summary>Evaluates a decoded memory <see cref="ModRmOperand"/> to the linear address it names in 64-bit mode.</summary>
public static class ModRmAddress
{
    /// <summary>
    /// base + index * scale + displacement (or next RIP + displacement), truncated to 32 bits with an
    /// address-size prefix, plus the FS or GS base for those overrides (the other segments have base 0 in 64-bit mode).
    /// </summary>
    public static ulong Linear(in ModRmOperand operand, in Registers regs, in SpecialRegisters sregs, ulong nextRip)
    {
        ulong effective = operand.RipRelative ? nextRip : 0;
        if (operand.Base >= 0)
            effective += GeneralRegisters.Read(regs, operand.Base);
        if (operand.Index >= 0)
            effective += GeneralRegisters.Read(regs, operand.Index) * (ulong)operand.Scale;
        effective += (ulong)operand.Displacement;
        if (operand.AddressBytes == 4)
            effective &= 0xFFFF_FFFF;
        return operand.Segment switch
        {
            0x64 => effective + sregs.Fs.Base,
            0x65 => effective + sregs.Gs.Base,
            _ => effective,
        };
    }
}
