namespace Ember.Vmm.Cpu;

/// <summary>
/// One decoded instruction from <see cref="EmulatorGapDecoder"/>: what it is, how many bytes it takes
/// (prefixes included), and for instructions with a ModRM operand, the operand's parts.
/// </summary>
/// <param name="Kind">The instruction.</param>
/// <param name="Length">Its length in bytes, prefixes and displacement included.</param>
/// <param name="OperandBytes">Operand size: 2, 4 or 8 (from 66 and REX.W), for <see cref="EmulatorGapKind.Popcnt"/>.</param>
/// <param name="Reg">ModRM.reg extended by REX.R: the destination register's encoding number (0 = rax ... 15 = r15).</param>
/// <param name="Operand">The r/m operand, or null when the instruction has none.</param>
/// <param name="ImmediateByte">The vector of <c>int n</c>.</param>
public readonly record struct EmulatorGapInstruction(
    EmulatorGapKind Kind,
    int Length,
    int OperandBytes = 0,
    int Reg = 0,
    ModRmOperand? Operand = null,
    byte ImmediateByte = 0);
