namespace Ember.Vmm.Host;

/// <summary>
/// The instructions kvm_pvm's emulator is known to lack in guest kernel mode (docs/host-quirks.md), told
/// apart by decoding the bytes at the failing RIP: legacy prefixes, a REX prefix, the opcode and, where
/// the opcode is shared, the ModRM reg field. Anything else that fails to emulate is not the host's known
/// gap (a jump into unmapped memory, say) and is not blamed on it.
/// </summary>
public static class KvmPvmEmulatorGaps
{
    /// <summary>The instruction's name when it is a known gap, else null.</summary>
    public static string? Identify(ReadOnlySpan<byte> code)
    {
        int i = 0;
        bool repe = false;
        while (i < code.Length && code[i] is 0x66 or 0x67 or 0xF2 or 0xF3 or 0x2E or 0x36 or 0x3E or 0x26 or 0x64 or 0x65 or 0xF0)
        {
            repe |= code[i] == 0xF3;
            i++;
        }
        bool rexW = false;
        if (i < code.Length && code[i] is >= 0x40 and <= 0x4F)
        {
            rexW = (code[i] & 0x08) != 0;
            i++;
        }
        if (i >= code.Length)
            return null;
        byte op = code[i];
        if (op == 0xCC)
            return "int3";
        if (op == 0xCD)
            return "int n";
        if (op != 0x0F || i + 1 >= code.Length)
            return null;
        byte op2 = code[i + 1];
        byte? modrm = i + 2 < code.Length ? code[i + 2] : null;
        int? reg = modrm is { } m ? (m >> 3) & 7 : null;
        bool memoryOperand = modrm is { } mm && (mm >> 6) != 3;
        return op2 switch
        {
            0xB8 when repe => "popcnt",
            0x01 when modrm == 0xCA => "clac",
            0x01 when modrm == 0xCB => "stac",
            0xC7 when reg == 1 && rexW && memoryOperand => "cmpxchg16b",
            0xAE when reg == 4 && memoryOperand => "xsave",
            0xAE when reg == 5 && memoryOperand => "xrstor",
            _ => null,
        };
    }
}
