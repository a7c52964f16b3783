using System.Runtime.CompilerServices;

namespace Ember.Kvm.Interop;

/// <summary>
/// Every KVM request number Ember uses, in one table (include/uapi/linux/kvm.h). Sizes are taken
/// from our struct definitions; StructLayoutTests compiles the kernel header and checks each number.
/// </summary>
internal static unsafe class KvmIoctls
{
    // System ioctls (on the /dev/kvm fd).
    public static readonly nuint GetApiVersion = IoctlNumber.Io(0x00);
    public static readonly nuint CreateVm = IoctlNumber.Io(0x01);
    public static readonly nuint GetMsrIndexList = IoctlNumber.IoWR(0x02, sizeof(VariableArrayHeader) / 2);
    public static readonly nuint CheckExtension = IoctlNumber.Io(0x03);
    public static readonly nuint GetVcpuMmapSize = IoctlNumber.Io(0x04);
    public static readonly nuint GetSupportedCpuid = IoctlNumber.IoWR(0x05, sizeof(VariableArrayHeader));
    public static readonly nuint GetMsrFeatureIndexList = IoctlNumber.IoWR(0x0a, sizeof(VariableArrayHeader) / 2);

    // VM ioctls.
    public static readonly nuint CreateVcpu = IoctlNumber.Io(0x41);
    public static readonly nuint SetUserMemoryRegion = IoctlNumber.IoW(0x46, sizeof(UserspaceMemoryRegion));
    public static readonly nuint SetTssAddr = IoctlNumber.Io(0x47);
    public static readonly nuint SetIdentityMapAddr = IoctlNumber.IoW(0x48, sizeof(ulong));
    public static readonly nuint CreateIrqchip = IoctlNumber.Io(0x60);
    public static readonly nuint IrqLine = IoctlNumber.IoW(0x61, sizeof(IrqLevel));
    public static readonly nuint GetIrqchip = IoctlNumber.IoWR(0x62, sizeof(IrqchipState));
    public static readonly nuint SetIrqchip = IoctlNumber.IoR(0x63, sizeof(IrqchipState));
    public static readonly nuint IrqLineStatus = IoctlNumber.IoWR(0x67, sizeof(IrqLevel));
    public static readonly nuint SetGsiRouting = IoctlNumber.IoW(0x6a, sizeof(VariableArrayHeader));
    public static readonly nuint IrqFd = IoctlNumber.IoW(0x76, sizeof(IrqFdRequest));
    public static readonly nuint CreatePit2 = IoctlNumber.IoW(0x77, sizeof(PitConfig));
    public static readonly nuint IoEventFd = IoctlNumber.IoW(0x79, sizeof(IoEventFdRequest));
    public static readonly nuint SetClock = IoctlNumber.IoW(0x7b, sizeof(ClockData));
    public static readonly nuint GetClock = IoctlNumber.IoR(0x7c, sizeof(ClockData));
    public static readonly nuint EnableCap = IoctlNumber.IoW(0xa3, sizeof(EnableCapRequest));
    public static readonly nuint SignalMsi = IoctlNumber.IoW(0xa5, sizeof(MsiRequest));

    // vCPU ioctls.
    public static readonly nuint Run = IoctlNumber.Io(0x80);
    public static readonly nuint GetRegs = IoctlNumber.IoR(0x81, sizeof(Registers));
    public static readonly nuint SetRegs = IoctlNumber.IoW(0x82, sizeof(Registers));
    public static readonly nuint GetSregs = IoctlNumber.IoR(0x83, sizeof(SpecialRegisters));
    public static readonly nuint SetSregs = IoctlNumber.IoW(0x84, sizeof(SpecialRegisters));
    public static readonly nuint Translate = IoctlNumber.IoWR(0x85, sizeof(Translation));
    public static readonly nuint GetSregs2 = IoctlNumber.IoR(0xCC, sizeof(SpecialRegisters2));
    public static readonly nuint Interrupt = IoctlNumber.IoW(0x86, sizeof(uint));
    public static readonly nuint GetMsrs = IoctlNumber.IoWR(0x88, sizeof(VariableArrayHeader));
    public static readonly nuint SetMsrs = IoctlNumber.IoW(0x89, sizeof(VariableArrayHeader));
    public static readonly nuint GetFpu = IoctlNumber.IoR(0x8c, sizeof(FpuState));
    public static readonly nuint SetFpu = IoctlNumber.IoW(0x8d, sizeof(FpuState));
    public static readonly nuint GetLapic = IoctlNumber.IoR(0x8e, sizeof(LapicState));
    public static readonly nuint SetLapic = IoctlNumber.IoW(0x8f, sizeof(LapicState));
    public static readonly nuint SetSignalMask = IoctlNumber.IoW(0x8b, sizeof(uint));
    public static readonly nuint SetCpuid2 = IoctlNumber.IoW(0x90, sizeof(VariableArrayHeader));
    public static readonly nuint GetCpuid2 = IoctlNumber.IoWR(0x91, sizeof(VariableArrayHeader));
    public static readonly nuint GetMpState = IoctlNumber.IoR(0x98, sizeof(uint));
    public static readonly nuint SetMpState = IoctlNumber.IoW(0x99, sizeof(uint));
    public static readonly nuint Nmi = IoctlNumber.Io(0x9a);
    public static readonly nuint SetGuestDebug = IoctlNumber.IoW(0x9b, sizeof(GuestDebug));
    public static readonly nuint GetVcpuEvents = IoctlNumber.IoR(0x9f, sizeof(VcpuEvents));
    public static readonly nuint SetVcpuEvents = IoctlNumber.IoW(0xa0, sizeof(VcpuEvents));
    public static readonly nuint GetXcrs = IoctlNumber.IoR(0xa6, sizeof(ExtendedControlRegisters));
    public static readonly nuint SetXcrs = IoctlNumber.IoW(0xa7, sizeof(ExtendedControlRegisters));

    /// <summary>Name → number, for the layout test that compares with the kernel header.</summary>
    internal static IReadOnlyDictionary<string, nuint> All() => new Dictionary<string, nuint>
    {
        ["KVM_GET_API_VERSION"] = GetApiVersion,
        ["KVM_CREATE_VM"] = CreateVm,
        ["KVM_GET_MSR_INDEX_LIST"] = GetMsrIndexList,
        ["KVM_CHECK_EXTENSION"] = CheckExtension,
        ["KVM_GET_VCPU_MMAP_SIZE"] = GetVcpuMmapSize,
        ["KVM_GET_SUPPORTED_CPUID"] = GetSupportedCpuid,
        ["KVM_GET_MSR_FEATURE_INDEX_LIST"] = GetMsrFeatureIndexList,
        ["KVM_CREATE_VCPU"] = CreateVcpu,
        ["KVM_SET_USER_MEMORY_REGION"] = SetUserMemoryRegion,
        ["KVM_SET_TSS_ADDR"] = SetTssAddr,
        ["KVM_SET_IDENTITY_MAP_ADDR"] = SetIdentityMapAddr,
        ["KVM_CREATE_IRQCHIP"] = CreateIrqchip,
        ["KVM_IRQ_LINE"] = IrqLine,
        ["KVM_GET_IRQCHIP"] = GetIrqchip,
        ["KVM_SET_IRQCHIP"] = SetIrqchip,
        ["KVM_IRQ_LINE_STATUS"] = IrqLineStatus,
        ["KVM_SET_GSI_ROUTING"] = SetGsiRouting,
        ["KVM_IRQFD"] = IrqFd,
        ["KVM_CREATE_PIT2"] = CreatePit2,
        ["KVM_IOEVENTFD"] = IoEventFd,
        ["KVM_SET_CLOCK"] = SetClock,
        ["KVM_GET_CLOCK"] = GetClock,
        ["KVM_ENABLE_CAP"] = EnableCap,
        ["KVM_SIGNAL_MSI"] = SignalMsi,
        ["KVM_RUN"] = Run,
        ["KVM_GET_REGS"] = GetRegs,
        ["KVM_SET_REGS"] = SetRegs,
        ["KVM_GET_SREGS"] = GetSregs,
        ["KVM_SET_SREGS"] = SetSregs,
        ["KVM_TRANSLATE"] = Translate,
        ["KVM_GET_SREGS2"] = GetSregs2,
        ["KVM_INTERRUPT"] = Interrupt,
        ["KVM_GET_MSRS"] = GetMsrs,
        ["KVM_SET_MSRS"] = SetMsrs,
        ["KVM_GET_FPU"] = GetFpu,
        ["KVM_SET_FPU"] = SetFpu,
        ["KVM_GET_LAPIC"] = GetLapic,
        ["KVM_SET_LAPIC"] = SetLapic,
        ["KVM_SET_SIGNAL_MASK"] = SetSignalMask,
        ["KVM_SET_CPUID2"] = SetCpuid2,
        ["KVM_GET_CPUID2"] = GetCpuid2,
        ["KVM_GET_MP_STATE"] = GetMpState,
        ["KVM_SET_MP_STATE"] = SetMpState,
        ["KVM_NMI"] = Nmi,
        ["KVM_SET_GUEST_DEBUG"] = SetGuestDebug,
        ["KVM_GET_VCPU_EVENTS"] = GetVcpuEvents,
        ["KVM_SET_VCPU_EVENTS"] = SetVcpuEvents,
        ["KVM_GET_XCRS"] = GetXcrs,
        ["KVM_SET_XCRS"] = SetXcrs,
    };
}
