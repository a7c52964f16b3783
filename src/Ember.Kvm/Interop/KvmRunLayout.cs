namespace Ember.Kvm.Interop;

/// <summary>
/// Field offsets in the mmap'd <c>struct kvm_run</c> (x86-64). The exit union starts at 32 and is
/// 256 bytes; StructLayoutTests checks these offsets against the kernel header with offsetof.
/// </summary>
internal static class KvmRunLayout
{
    public const int RequestInterruptWindow = 0;
    public const int ImmediateExit = 1;
    public const int ExitReason = 8;
    public const int ReadyForInterruptInjection = 12;
    public const int IfFlag = 13;
    public const int Flags = 14;
    public const int Cr8 = 16;
    public const int ApicBase = 24;
    public const int ExitUnion = 32;
    public const int ExitUnionSize = 256;

    // io: { u8 direction; u8 size; u16 port; u32 count; u64 data_offset; }
    public const int IoDirection = ExitUnion + 0;
    public const int IoSize = ExitUnion + 1;
    public const int IoPort = ExitUnion + 2;
    public const int IoCount = ExitUnion + 4;
    public const int IoDataOffset = ExitUnion + 8;

    // mmio: { u64 phys_addr; u8 data[8]; u32 len; u8 is_write; }
    public const int MmioPhysAddr = ExitUnion + 0;
    public const int MmioData = ExitUnion + 8;
    public const int MmioLen = ExitUnion + 16;
    public const int MmioIsWrite = ExitUnion + 20;

    // fail_entry: { u64 hardware_entry_failure_reason; u32 cpu; }
    public const int FailEntryReason = ExitUnion + 0;
    public const int FailEntryCpu = ExitUnion + 8;

    // internal: { u32 suberror; u32 ndata; u64 data[16]; }
    public const int InternalSuberror = ExitUnion + 0;
    public const int InternalNData = ExitUnion + 4;
    public const int InternalData = ExitUnion + 8;
    public const int InternalDataMax = 16;

    // system_event: { u32 type; u32 ndata; u64 data[16]; }
    public const int SystemEventType = ExitUnion + 0;
    public const int SystemEventNData = ExitUnion + 4;
    public const int SystemEventData = ExitUnion + 8;

    // eoi: { u8 vector; }
    public const int EoiVector = ExitUnion + 0;

    // debug.arch: { u32 exception; u32 pad; u64 pc; u64 dr6; u64 dr7; }
    public const int DebugException = ExitUnion + 0;
    public const int DebugPc = ExitUnion + 8;
    public const int DebugDr6 = ExitUnion + 16;
    public const int DebugDr7 = ExitUnion + 24;

    // hw: { u64 hardware_exit_reason; }
    public const int HardwareExitReason = ExitUnion + 0;

    // ex: { u32 exception; u32 error_code; }
    public const int ExceptionNumber = ExitUnion + 0;
    public const int ExceptionErrorCode = ExitUnion + 4;

    public const int ValidRegs = 288;
    public const int DirtyRegs = 296;
}
