namespace Ember.Vmm.Boot;

/// <summary>
/// System register state at kernel entry, produced by <see cref="LongModeSetup"/> or
/// <see cref="ProtectedModeSetup"/> after they wrote the GDT (and page tables) into guest memory.
/// </summary>
/// <param name="Cr0">PE (and PG in long mode); ET is hardwired to 1 on every CPU KVM runs on.</param>
/// <param name="Cr3">Page-table root (PML4) in long mode; 0 with paging off.</param>
/// <param name="Cr4">PAE in long mode; 0 in protected mode (PVH requires all CR4 bits clear).</param>
/// <param name="Efer">LME|LMA in long mode; 0 otherwise.</param>
/// <param name="Gdt">The boot GDT written at <see cref="Layout.BootGdt"/>.</param>
/// <param name="Idt">Empty (base 0, limit 0): every protocol enters with interrupts off and the kernel loads its own IDT.</param>
/// <param name="Code">CS.</param>
/// <param name="Data">DS, ES, FS, GS and SS.</param>
/// <param name="Task">TR: a busy 32-bit/64-bit TSS, base 0, limit 0x67, as VMX needs a usable TR and PVH specifies.</param>
public sealed record BootCpuState(
    ulong Cr0,
    ulong Cr3,
    ulong Cr4,
    ulong Efer,
    DescriptorTableRegister Gdt,
    DescriptorTableRegister Idt,
    SegmentDescriptor Code,
    SegmentDescriptor Data,
    SegmentDescriptor Task);
