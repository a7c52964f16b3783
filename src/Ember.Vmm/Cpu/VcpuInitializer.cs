using Ember.Kvm;
using Ember.Vmm.Boot;
using Ember.Sys;

namespace Ember.Vmm.Cpu;

/// <summary>
/// Puts a fresh vCPU into the state a boot protocol expects: CPUID, the architectural MSR
/// defaults, x87/SSE control words, LAPIC LINT pins, and for the boot vCPU the registers and
/// segments the loader asked for.
/// </summary>
public static class VcpuInitializer
{
    // MSR numbers (Intel SDM vol. 4).
    private const uint MsrIa32SysenterCs = 0x174, MsrIa32SysenterEsp = 0x175, MsrIa32SysenterEip = 0x176;
    private const uint MsrStar = 0xC000_0081, MsrLstar = 0xC000_0082, MsrCstar = 0xC000_0083, MsrSyscallMask = 0xC000_0084;
    private const uint MsrKernelGsBase = 0xC000_0102;
    private const uint MsrIa32Tsc = 0x10;
    private const uint MsrIa32MiscEnable = 0x1A0;
    private const uint MsrMtrrDefType = 0x2FF;
    private const ulong MiscEnableFastStrings = 1;
    private const ulong MtrrEnableWriteBack = (1 << 11) | 6;   // MTRRs enabled, default type WB

    // x87 control word after FNINIT and the SSE MXCSR reset value (SDM vol. 1 §8.1.5, §10.2.3).
    private const ushort FpuControlWordDefault = 0x37F;
    private const uint MxcsrDefault = 0x1F80;

    // LAPIC local vector table delivery modes (SDM vol. 3 §11.5.1): LINT0 is the PIC's ExtINT
    // wire and LINT1 the NMI wire, as on every PC since the MP specification.
    private const uint LvtDeliveryModeShift = 8;
    private const uint LvtDeliveryExtInt = 7;
    private const uint LvtDeliveryNmi = 4;
    private const uint LvtDeliveryModeMask = 7u << 8;
    private const uint LvtMasked = 1u << 16;

    public static void ConfigureCpuid(VirtualCpu vcpu, ReadOnlySpan<CpuidEntry> cpuid) => vcpu.SetCpuid(cpuid);

    public static void ConfigureMsrs(VirtualCpu vcpu)
    {
        ReadOnlySpan<MsrEntry> msrs =
        [
            new(MsrIa32SysenterCs, 0), new(MsrIa32SysenterEsp, 0), new(MsrIa32SysenterEip, 0),
            new(MsrStar, 0), new(MsrCstar, 0), new(MsrKernelGsBase, 0), new(MsrSyscallMask, 0), new(MsrLstar, 0),
            new(MsrIa32Tsc, 0),
            new(MsrIa32MiscEnable, MiscEnableFastStrings),
            new(MsrMtrrDefType, MtrrEnableWriteBack),
        ];
        int written = vcpu.SetMsrs(msrs);
        if (written != msrs.Length)
            throw new KvmException("KVM_SET_MSRS", Errno.EINVAL, $"KVM_SET_MSRS accepted only {written} of {msrs.Length} boot MSRs (stopped at 0x{msrs[written].Index:x})");
    }

    public static void ConfigureFpu(VirtualCpu vcpu)
    {
        var fpu = new FpuState { Fcw = FpuControlWordDefault, Mxcsr = MxcsrDefault };
        vcpu.SetFpu(fpu);
    }

    /// <summary>LINT0 = ExtINT, LINT1 = NMI, as firmware leaves them. Only with an in-kernel LAPIC.</summary>
    public static void ConfigureLapicLintPins(VirtualCpu vcpu)
    {
        var lapic = vcpu.GetLapic();
        uint lint0 = lapic.ReadRegister(LapicState.LvtLint0Offset);
        uint lint1 = lapic.ReadRegister(LapicState.LvtLint1Offset);
        lapic.WriteRegister(LapicState.LvtLint0Offset, (lint0 & ~(LvtDeliveryModeMask | LvtMasked)) | (LvtDeliveryExtInt << (int)LvtDeliveryModeShift));
        lapic.WriteRegister(LapicState.LvtLint1Offset, (lint1 & ~(LvtDeliveryModeMask | LvtMasked)) | (LvtDeliveryNmi << (int)LvtDeliveryModeShift));
        vcpu.SetLapic(lapic);
    }

    /// <summary>True when LVT LINT1 is unmasked with NMI delivery: a LINT1 edge would queue an NMI (api.rst KVM_NMI).</summary>
    public static bool Lint1DeliversNmi(in LapicState lapic)
    {
        uint lint1 = lapic.ReadRegister(LapicState.LvtLint1Offset);
        return (lint1 & LvtMasked) == 0 && ((lint1 & LvtDeliveryModeMask) >> (int)LvtDeliveryModeShift) == LvtDeliveryNmi;
    }

    /// <summary>Loads the boot vCPU's registers from what the boot loader returned.</summary>
    public static void ApplyBootEntry(VirtualCpu vcpu, BootEntry entry)
    {
        var sregs = vcpu.GetSpecialRegisters();
        var cpu = entry.Cpu;
        sregs.Cs = ToKvm(cpu.Code);
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = ToKvm(cpu.Data);
        sregs.Tr = ToKvm(cpu.Task);
        sregs.Gdt = new DescriptorTable { Base = cpu.Gdt.Base, Limit = cpu.Gdt.Limit };
        sregs.Idt = new DescriptorTable { Base = cpu.Idt.Base, Limit = cpu.Idt.Limit };
        sregs.Cr0 = cpu.Cr0;
        sregs.Cr3 = cpu.Cr3;
        sregs.Cr4 = cpu.Cr4;
        sregs.Efer = cpu.Efer;
        vcpu.SetSpecialRegisters(sregs);

        var r = entry.Registers;
        vcpu.SetRegisters(new Registers
        {
            Rip = entry.EntryPoint,
            Rax = r.Rax,
            Rbx = r.Rbx,
            Rsi = r.Rsi,
            Rsp = r.Rsp,
            Rflags = r.Rflags == 0 ? BootRegisters.InitialRflags : r.Rflags,
        });
    }

    private static Segment ToKvm(SegmentDescriptor d) => new()
    {
        Base = d.Base,
        Limit = d.Limit,
        Selector = d.Selector,
        Type = d.Type,
        Present = d.Present ? (byte)1 : (byte)0,
        Dpl = d.Dpl,
        Db = d.DefaultBig ? (byte)1 : (byte)0,
        S = d.CodeOrData ? (byte)1 : (byte)0,
        L = d.Long ? (byte)1 : (byte)0,
        G = d.Granularity ? (byte)1 : (byte)0,
        Avl = d.Available ? (byte)1 : (byte)0,
    };
}
