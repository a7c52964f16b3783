namespace Ember.Vmm.Cpu;

/// <summary>
/// Decodes the few instructions in <see cref="EmulatorGapKind"/> from the bytes at a guest RIP: legacy
/// prefixes, a REX prefix (64-bit mode only, and only right before the opcode), the opcode, and the ModRM,
/// SIB and displacement bytes where the instruction has them (Intel SDM vol. 2, chapter 2). Anything else,
/// and any encoding these instructions do not allow (a LOCK prefix, a register operand where memory is
/// required, more than 15 bytes), decodes to null: the caller must not guess at what it did not decode.
/// </summary>
public static class EmulatorGapDecoder
{
    /// <summary>The architectural limit on an x86 instruction's length.</summary>
    public const int MaxInstructionLength = 15;

    /// <summary>
    /// The instruction at the start of <paramref name="code"/>, or null when it is none of the known gaps.
    /// <paramref name="longMode"/> is true for 64-bit code (CS.L = 1), where 0x40-0x4F are REX prefixes.
    /// </summary>
    public static EmulatorGapInstruction? Decode(ReadOnlySpan<byte> code, bool longMode)
    {
        if (code.Length > MaxInstructionLength)
            code = code[..MaxInstructionLength];
        int i = 0;
        bool operandSize = false, addressSize = false, repe = false, repne = false, locked = false;
        byte segment = 0;
        byte rex = 0;
        while (i < code.Length)
        {
            byte b = code[i];
            if (b is 0x66) operandSize = true;
            else if (b is 0x67) addressSize = true;
            else if (b is 0xF3) repe = true;
            else if (b is 0xF2) repne = true;
            else if (b is 0xF0) locked = true;
            else if (b is 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65) segment = b;
            else if (longMode && b is >= 0x40 and <= 0x4F)
            {
                // A REX prefix counts only when the opcode follows it; one followed by another prefix is ignored.
                rex = b;
                i++;
                if (i < code.Length && IsLegacyPrefix(code[i]))
                    rex = 0;
                else
                    break;
                continue;
            }
            else break;
            rex = 0;
            i++;
        }
        if (i >= code.Length)
            return null;
        bool rexW = (rex & 0x08) != 0;
        byte op = code[i++];
        bool anyMandatoryPrefix = operandSize || repe || repne;
        switch (op)
        {
            case 0xCC when !locked:
                return new EmulatorGapInstruction(EmulatorGapKind.Int3, i);
            case 0xCD when !locked && i < code.Length:
                return new EmulatorGapInstruction(EmulatorGapKind.IntN, i + 1, ImmediateByte: code[i]);
            case 0x9B when !locked:
                return new EmulatorGapInstruction(EmulatorGapKind.Fwait, i);
            case 0x0F when i < code.Length:
                break;
            default:
                return null;
        }
        byte op2 = code[i++];
        switch (op2)
        {
            case 0x0B when !locked:
                return new EmulatorGapInstruction(EmulatorGapKind.Ud2, i);
            case 0x01 when !locked && !anyMandatoryPrefix && i < code.Length && code[i] is 0xCA or 0xCB:
                return new EmulatorGapInstruction(code[i] == 0xCA ? EmulatorGapKind.Clac : EmulatorGapKind.Stac, i + 1);
            case 0xB8 when !locked && repe && !repne:
            {
                if (!TryDecodeModRm(code, ref i, longMode, rex, segment, addressSize, out int reg, out var operand))
                    return null;
                int bytes = rexW ? 8 : operandSize ? 2 : 4;
                return new EmulatorGapInstruction(EmulatorGapKind.Popcnt, i, bytes, reg, operand);
            }
            case 0xC7 when rexW && !anyMandatoryPrefix:
            {
                if (!TryDecodeModRm(code, ref i, longMode, rex, segment, addressSize, out int reg, out var operand) || operand.IsRegister || (reg & 7) != 1)
                    return null;
                return new EmulatorGapInstruction(EmulatorGapKind.Cmpxchg16b, i, 16, reg, operand);
            }
            case 0xAE when !locked && !anyMandatoryPrefix:
            {
                if (!TryDecodeModRm(code, ref i, longMode, rex, segment, addressSize, out int reg, out var operand) || operand.IsRegister)
                    return null;
                return (reg & 7) switch
                {
                    2 => new EmulatorGapInstruction(EmulatorGapKind.Ldmxcsr, i, 4, reg, operand),
                    3 => new EmulatorGapInstruction(EmulatorGapKind.Stmxcsr, i, 4, reg, operand),
                    4 => new EmulatorGapInstruction(EmulatorGapKind.Xsave, i, 0, reg, operand),
                    5 => new EmulatorGapInstruction(EmulatorGapKind.Xrstor, i, 0, reg, operand),
                    _ => null,
                };
            }
            default:
                return null;
        }
    }

    private static bool IsLegacyPrefix(byte b) =>
        b is 0x66 or 0x67 or 0xF2 or 0xF3 or 0xF0 or 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65;

    /// <summary>
    /// Reads ModRM at <paramref name="i"/> (and SIB and displacement after it), leaving <paramref name="i"/>
    /// just past them. Outside 64-bit mode only register operands are decoded: the 32-bit addressing forms
    /// are not needed by any gap Ember covers.
    /// </summary>
    private static bool TryDecodeModRm(ReadOnlySpan<byte> code, ref int i, bool longMode, byte rex, byte segment, bool addressSize, out int reg, out ModRmOperand operand)
    {
        reg = 0;
        operand = default;
        if (i >= code.Length)
            return false;
        byte modrm = code[i++];
        int mod = modrm >> 6;
        int rm = modrm & 7;
        reg = ((modrm >> 3) & 7) | ((rex & 0x04) << 1);
        int rexB = (rex & 0x01) << 3;
        int rexX = (rex & 0x02) << 2;
        if (mod == 3)
        {
            operand = new ModRmOperand(true, rm | rexB, -1, -1, 1, 0, false, segment, 8);
            return true;
        }
        if (!longMode)
            return false;
        int baseRegister = rm | rexB, index = -1, scale = 1;
        bool ripRelative = false;
        int displacementBytes = mod switch { 1 => 1, 2 => 4, _ => 0 };
        if (rm == 4)
        {
            if (i >= code.Length)
                return false;
            byte sib = code[i++];
            scale = 1 << (sib >> 6);
            int indexField = ((sib >> 3) & 7) | rexX;
            index = indexField == 4 ? -1 : indexField;
            baseRegister = (sib & 7) | rexB;
            if ((sib & 7) == 5 && mod == 0)
            {
                baseRegister = -1;
                displacementBytes = 4;
            }
        }
        else if (rm == 5 && mod == 0)
        {
            baseRegister = -1;
            ripRelative = true;
            displacementBytes = 4;
        }
        if (i + displacementBytes > code.Length)
            return false;
        long displacement = displacementBytes switch
        {
            1 => (sbyte)code[i],
            4 => BitConverter.ToInt32(code.Slice(i, 4)),
            _ => 0,
        };
        i += displacementBytes;
        operand = new ModRmOperand(false, -1, baseRegister, index, scale, displacement, ripRelative, segment, addressSize ? 4 : 8);
        return true;
    }
}
