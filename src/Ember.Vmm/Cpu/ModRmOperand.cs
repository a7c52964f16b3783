namespace Ember.Vmm.Cpu;

/// <summary>
/// The r/m operand of a ModRM byte in 64-bit mode, decoded but not yet evaluated: either a register, or a
/// memory address base + index * scale + displacement (RIP-relative when <see cref="RipRelative"/>), with
/// its segment override and address size.
/// </summary>
/// <param name="IsRegister">The operand is register <see cref="Register"/> (mod = 3).</param>
/// <param name="Register">With <see cref="IsRegister"/>: the register's encoding number (0 = rax ... 15 = r15).</param>
/// <param name="Base">Base register number, or -1 for none.</param>
/// <param name="Index">Index register number, or -1 for none.</param>
/// <param name="Scale">1, 2, 4 or 8.</param>
/// <param name="Displacement">Sign-extended displacement.</param>
/// <param name="RipRelative">The address is the next instruction's RIP plus the displacement.</param>
/// <param name="Segment">A segment-override prefix byte (0x64 FS, 0x65 GS; others are ignored in 64-bit mode), or 0.</param>
/// <param name="AddressBytes">8, or 4 with an address-size (67) prefix.</param>
public readonly record struct ModRmOperand(
    bool IsRegister,
    int Register,
    int Base,
    int Index,
    int Scale,
    long Displacement,
    bool RipRelative,
    byte Segment,
    int AddressBytes);
