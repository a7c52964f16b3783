using Ember.Vmm.Cpu;

namespace Ember.Vmm.Host;

/// <summary>
/// The instructions kvm_pvm's emulator is known to lack in guest kernel mode (docs/host-quirks.md), told
/// apart by <see cref="EmulatorGapDecoder"/>. Anything else that fails to emulate is not the host's known
/// gap (a jump into unmapped memory, say) and is not blamed on it.
/// </summary>
public static class KvmPvmEmulatorGaps
{
    /// <summary>The instruction's name when it is a known gap, else null.</summary>
    public static string? Identify(ReadOnlySpan<byte> code, bool longMode = true) =>
        EmulatorGapDecoder.Decode(code, longMode)?.Kind switch
        {
            EmulatorGapKind.Int3 => "int3",
            EmulatorGapKind.IntN => "int n",
            EmulatorGapKind.Ud2 => "ud2",
            EmulatorGapKind.Fwait => "fwait",
            EmulatorGapKind.Popcnt => "popcnt",
            EmulatorGapKind.Clac => "clac",
            EmulatorGapKind.Stac => "stac",
            EmulatorGapKind.Cmpxchg16b => "cmpxchg16b",
            EmulatorGapKind.Ldmxcsr => "ldmxcsr",
            EmulatorGapKind.Stmxcsr => "stmxcsr",
            EmulatorGapKind.Xsave => "xsave",
            EmulatorGapKind.Xrstor => "xrstor",
            _ => null,
        };
}
