using Ember.Kvm;
using Ember.Memory;

namespace Ember.Vmm.Cpu;

/// <summary>
/// The host-quirk component for software KVMs (kvm_pvm): when KVM reports that its emulator could not run a
/// guest kernel instruction, this does what the CPU would have done, where that can be done soundly from user
/// space, and the vCPU goes on. Covered: <c>int3</c> (a #BP trap: RIP past it, then the exception),
/// <c>ud2</c> (a #UD fault, so Linux's BUG/WARN handling runs), <c>fwait</c>, <c>ldmxcsr</c>/<c>stmxcsr</c>, <c>clac</c>/<c>stac</c> (RFLAGS.AC, or #UD
/// where the SDM says so) and <c>popcnt</c> (computed, register or memory source). Anything else, or any
/// state in which the instruction cannot be finished exactly (an event already being delivered, an
/// unreadable memory operand), is left alone and the machine stops with today's one-line error.
/// Only emulation failures come here, never the hot exit path. Active only on kvm_pvm or when asked for.
/// </summary>
public sealed class EmulatorGapCover
{
    private const int BreakpointVector = 3;
    private const int InvalidOpcodeVector = 6;
    private const int DeviceNotAvailableVector = 7;
    private const int FloatingPointErrorVector = 16;
    private const ulong Cr0Mp = 1UL << 1;
    private const ulong Cr0Ts = 1UL << 3;
    private const ulong Cr0Ne = 1UL << 5;
    private const ushort FswErrorSummary = 1 << 7;
    private const int GeneralProtectionVector = 13;
    private const ulong Cr0Em = 1UL << 2;
    private const ulong Cr4Osfxsr = 1UL << 9;
    // MXCSR bits 16-31 are reserved on every CPU (the MXCSR_MASK of FXSAVE never allows them).
    private const uint MxcsrReserved = 0xFFFF_0000;
    private const ulong RflagsAc = 1UL << 18;
    private const ulong Cr4Smap = 1UL << 21;
    // OF, SF, ZF, AF, PF, CF: popcnt clears all of them and then sets ZF for a zero source.
    private const ulong ArithmeticFlags = (1UL << 11) | (1UL << 7) | (1UL << 6) | (1UL << 4) | (1UL << 2) | 1UL;
    private const ulong RflagsZf = 1UL << 6;

    private readonly long[] _counts = new long[Enum.GetValues<EmulatorGapKind>().Length];

    /// <summary>How many instructions of each kind were covered, over all vCPUs.</summary>
    public IReadOnlyDictionary<EmulatorGapKind, long> Counts =>
        Enum.GetValues<EmulatorGapKind>().Where(k => Interlocked.Read(ref _counts[(int)k]) > 0)
            .ToDictionary(k => k, k => Interlocked.Read(ref _counts[(int)k]));

    /// <summary>All instructions covered.</summary>
    public long Total => _counts.Sum(c => Interlocked.Read(ref c));

    /// <summary>
    /// Covers the instruction <paramref name="code"/> (the bytes at the vCPU's RIP) when it is a gap this
    /// component knows; true when the vCPU may run on. Call only on the vCPU's own thread.
    /// </summary>
    public bool TryCover(VirtualCpu vcpu, IGuestMemory memory, ReadOnlySpan<byte> code)
    {
        var sregs = vcpu.GetSpecialRegisters();
        bool longMode = sregs.Cs.L != 0;
        if (EmulatorGapDecoder.Decode(code, longMode) is not { } instruction)
            return false;
        var regs = vcpu.GetRegisters();
        bool covered = instruction.Kind switch
        {
            EmulatorGapKind.Int3 => RaiseException(vcpu, ref regs, BreakpointVector, advance: instruction.Length),
            EmulatorGapKind.Ud2 => RaiseException(vcpu, ref regs, InvalidOpcodeVector, advance: 0),
            EmulatorGapKind.Fwait => Wait(vcpu, ref regs, sregs, instruction),
            EmulatorGapKind.Clac or EmulatorGapKind.Stac => SetAlignmentCheck(vcpu, ref regs, sregs, instruction),
            EmulatorGapKind.Ldmxcsr or EmulatorGapKind.Stmxcsr => MxcsrAccess(vcpu, memory, ref regs, sregs, instruction),
            EmulatorGapKind.Popcnt => PopulationCount(vcpu, memory, ref regs, sregs, instruction),
            _ => false,
        };
        if (covered)
            Interlocked.Increment(ref _counts[(int)instruction.Kind]);
        return covered;
    }

    /// <summary>
    /// Injects exception <paramref name="vector"/> through KVM_SET_VCPU_EVENTS, after moving RIP past a trap's
    /// instruction. Refused while another event is being delivered: stacking a second one on it is not what
    /// the CPU would do, and the guest's double-fault rules are not ours to emulate.
    /// </summary>
    private static bool RaiseException(VirtualCpu vcpu, ref Registers regs, int vector, int advance, uint? errorCode = null)
    {
        var events = vcpu.GetVcpuEvents();
        if (events.ExceptionInjected != 0 || events.ExceptionPending != 0 || events.InterruptInjected != 0 || events.NmiInjected != 0)
            return false;
        regs.Rip += (ulong)advance;
        vcpu.SetRegisters(regs);
        var raised = new VcpuEvents
        {
            ExceptionInjected = 1,
            ExceptionNumber = (byte)vector,
            ExceptionHasErrorCode = errorCode is null ? (byte)0 : (byte)1,
            ExceptionErrorCode = errorCode ?? 0,
            // Flags 0: the NMI, SIPI, shadow and SMM fields are left as they are.
            Flags = 0,
            NmiMasked = events.NmiMasked,
        };
        vcpu.SetVcpuEvents(raised);
        return true;
    }

    /// <summary>
    /// fwait (SDM vol. 2): #NM when CR0.MP and CR0.TS are both set; #MF when an unmasked x87 exception is
    /// pending (FSW.ES) and CR0.NE is set; otherwise nothing but RIP moving on. Pending with CR0.NE clear
    /// means the legacy FERR# line, which Ember does not model: left to stop the machine.
    /// </summary>
    private static bool Wait(VirtualCpu vcpu, ref Registers regs, in SpecialRegisters sregs, EmulatorGapInstruction instruction)
    {
        if ((sregs.Cr0 & (Cr0Mp | Cr0Ts)) == (Cr0Mp | Cr0Ts))
            return RaiseException(vcpu, ref regs, DeviceNotAvailableVector, advance: 0);
        if ((vcpu.GetFpu().Fsw & FswErrorSummary) != 0)
            return (sregs.Cr0 & Cr0Ne) != 0 && RaiseException(vcpu, ref regs, FloatingPointErrorVector, advance: 0);
        regs.Rip += (ulong)instruction.Length;
        vcpu.SetRegisters(regs);
        return true;
    }

    /// <summary>
    /// ldmxcsr/stmxcsr (SDM vol. 2): #UD with CR0.EM set or CR4.OSFXSR clear, #NM with CR0.TS, #GP(0) for a
    /// reserved MXCSR bit; MXCSR itself goes through KVM_GET_FPU/KVM_SET_FPU. An unreadable or unwritable
    /// operand is left to stop the machine (the page fault it would raise is not ours to build).
    /// </summary>
    private static bool MxcsrAccess(VirtualCpu vcpu, IGuestMemory memory, ref Registers regs, in SpecialRegisters sregs, EmulatorGapInstruction instruction)
    {
        if (instruction.Operand is not { IsRegister: false } operand)
            return false;
        if ((sregs.Cr0 & Cr0Em) != 0 || (sregs.Cr4 & Cr4Osfxsr) == 0)
            return RaiseException(vcpu, ref regs, InvalidOpcodeVector, advance: 0);
        if ((sregs.Cr0 & Cr0Ts) != 0)
            return RaiseException(vcpu, ref regs, DeviceNotAvailableVector, advance: 0);
        ulong address = ModRmAddress.Linear(operand, regs, sregs, regs.Rip + (ulong)instruction.Length);
        Span<byte> bytes = stackalloc byte[4];
        var fpu = vcpu.GetFpu();
        if (instruction.Kind == EmulatorGapKind.Ldmxcsr)
        {
            if (!VcpuLogicalMemory.TryRead(vcpu, memory, address, bytes))
                return false;
            uint value = BitConverter.ToUInt32(bytes);
            if ((value & MxcsrReserved) != 0)
                return RaiseException(vcpu, ref regs, GeneralProtectionVector, advance: 0, errorCode: 0);
            fpu.Mxcsr = value;
            vcpu.SetFpu(fpu);
        }
        else
        {
            BitConverter.TryWriteBytes(bytes, fpu.Mxcsr);
            if (!VcpuLogicalMemory.TryWrite(vcpu, memory, address, bytes))
                return false;
        }
        regs.Rip += (ulong)instruction.Length;
        vcpu.SetRegisters(regs);
        return true;
    }

    private static bool SetAlignmentCheck(VirtualCpu vcpu, ref Registers regs, in SpecialRegisters sregs, EmulatorGapInstruction instruction)
    {
        // SDM: clac/stac raise #UD at CPL > 0 or when CR4.SMAP is clear.
        if ((sregs.Cs.Selector & 3) != 0 || (sregs.Cr4 & Cr4Smap) == 0)
            return RaiseException(vcpu, ref regs, InvalidOpcodeVector, advance: 0);
        regs.Rflags = instruction.Kind == EmulatorGapKind.Clac ? regs.Rflags & ~RflagsAc : regs.Rflags | RflagsAc;
        regs.Rip += (ulong)instruction.Length;
        vcpu.SetRegisters(regs);
        return true;
    }

    private static bool PopulationCount(VirtualCpu vcpu, IGuestMemory memory, ref Registers regs, in SpecialRegisters sregs, EmulatorGapInstruction instruction)
    {
        if (instruction.Operand is not { } operand)
            return false;
        ulong mask = instruction.OperandBytes switch { 2 => 0xFFFF, 4 => 0xFFFF_FFFF, _ => ulong.MaxValue };
        ulong source;
        if (operand.IsRegister)
        {
            source = GeneralRegisters.Read(regs, operand.Register) & mask;
        }
        else
        {
            ulong nextRip = regs.Rip + (ulong)instruction.Length;
            ulong address = ModRmAddress.Linear(operand, regs, sregs, nextRip);
            Span<byte> bytes = stackalloc byte[8];
            bytes.Clear();
            if (!VcpuLogicalMemory.TryRead(vcpu, memory, address, bytes[..instruction.OperandBytes]))
                return false;
            source = BitConverter.ToUInt64(bytes) & mask;
        }
        ulong count = (ulong)ulong.PopCount(source);
        // A 32-bit result zero-extends into the whole register; a 16-bit one replaces only the low 16 bits.
        ulong old = GeneralRegisters.Read(regs, instruction.Reg);
        ulong result = instruction.OperandBytes == 2 ? (old & ~0xFFFFUL) | count : count;
        GeneralRegisters.Write(ref regs, instruction.Reg, result);
        regs.Rflags = (regs.Rflags & ~ArithmeticFlags) | (source == 0 ? RflagsZf : 0);
        regs.Rip += (ulong)instruction.Length;
        vcpu.SetRegisters(regs);
        return true;
    }
}
