namespace Ember.Vmm.Boot;

/// <summary>
/// General-purpose register values at kernel entry. Registers not named here start at zero,
/// which every supported protocol either requires or permits.
/// </summary>
/// <param name="Rax">Multiboot: the boot loader magic 0x2BADB002.</param>
/// <param name="Rbx">PVH: hvm_start_info address. Multiboot: multiboot_info address.</param>
/// <param name="Rsi">Linux: the zero page (struct boot_params) address.</param>
/// <param name="Rsp">A small boot stack; no protocol requires one, but it costs nothing.</param>
/// <param name="Rflags">Bit 1 is reserved and always set; IF, TF and VM are clear as every protocol demands.</param>
public readonly record struct BootRegisters(ulong Rax, ulong Rbx, ulong Rsi, ulong Rsp, ulong Rflags)
{
    /// <summary>RFLAGS with only the always-one reserved bit 1 set (interrupts off).</summary>
    public const ulong InitialRflags = 0x2;
}
