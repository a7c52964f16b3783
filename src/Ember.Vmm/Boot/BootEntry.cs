namespace Ember.Vmm.Boot;

/// <summary>
/// What a boot loader leaves for the vCPU setup: the mode, where to start, the registers the
/// protocol defines and the control-register/segment state. Plain data, no KVM types: the
/// Vmm copies it into KVM_SET_REGS/KVM_SET_SREGS.
/// </summary>
/// <param name="Mode">Long mode or 32-bit protected mode.</param>
/// <param name="EntryPoint">Guest physical (identity-mapped) address to start at (RIP).</param>
/// <param name="Registers">General-purpose registers at entry.</param>
/// <param name="Cpu">Control registers, EFER, GDT/IDT and segment registers.</param>
public sealed record BootEntry(BootCpuMode Mode, ulong EntryPoint, BootRegisters Registers, BootCpuState Cpu)
{
    /// <summary>
    /// Where the kernel itself starts. Usually <see cref="EntryPoint"/>; for multiboot the vCPU first runs
    /// the firmware setup code (<see cref="MultibootFirmware"/>), which jumps here.
    /// </summary>
    public ulong KernelEntry { get; init; } = EntryPoint;
}
