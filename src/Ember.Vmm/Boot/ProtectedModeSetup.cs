using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Prepares flat 32-bit protected mode with paging off, the entry state shared by PVH
/// (Xen arch/x86 PVH ABI: CR0.PE only, CR4 = 0, flat 32-bit CS/DS/ES, busy TSS limit 0x67),
/// Multiboot v1 (0.6.96 §3.2 "Machine state") and Linux's 32-bit boot protocol
/// (boot.rst: __BOOT_CS = 0x10, __BOOT_DS = 0x18). Writes the boot GDT and returns the state.
/// </summary>
public static class ProtectedModeSetup
{
    public static BootCpuState Write(IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var code = SegmentDescriptor.FlatCode32(BootGdt.CodeSelector);
        var data = SegmentDescriptor.FlatData(BootGdt.DataSelector);
        var task = SegmentDescriptor.BusyTss(BootGdt.TaskSelector);
        var gdt = BootGdt.Write(memory, code, data, task);

        return new BootCpuState(
            Cr0: X86ControlBits.Cr0ProtectionEnable | X86ControlBits.Cr0ExtensionType,
            Cr3: 0,
            Cr4: 0,
            Efer: 0,
            Gdt: gdt,
            Idt: default,
            Code: code,
            Data: data,
            Task: task);
    }
}
