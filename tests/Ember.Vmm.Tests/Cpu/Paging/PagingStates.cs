using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>Control-register values that select each paging mode, as a guest kernel would set them (CR0.WP and EFER.NXE on).</summary>
internal static class PagingStates
{
    private const ulong EferLongModeEnable = 1UL << 8;

    public static PagingState For(PagingMode mode, ulong cr3, ulong extraCr4 = 0) => mode switch
    {
        PagingMode.Disabled => new(PagingBits.Cr0ProtectionEnable, 0, extraCr4, 0),
        PagingMode.ThirtyTwoBit => new(Cr0, cr3, PagingBits.Cr4PageSizeExtensions | extraCr4, 0),
        PagingMode.Pae => new(Cr0, cr3, PagingBits.Cr4PhysicalAddressExtension | extraCr4, PagingBits.EferNoExecuteEnable),
        PagingMode.FourLevel => new(Cr0, cr3, PagingBits.Cr4PhysicalAddressExtension | extraCr4, LongModeEfer),
        _ => new(Cr0, cr3, PagingBits.Cr4PhysicalAddressExtension | PagingBits.Cr4La57 | extraCr4, LongModeEfer),
    };

    public static PagingState For(GuestPageTables tables, ulong extraCr4 = 0) => For(tables.Mode, tables.Root, extraCr4);

    private const ulong Cr0 = PagingBits.Cr0ProtectionEnable | PagingBits.Cr0Paging | PagingBits.Cr0WriteProtect;

    private const ulong LongModeEfer = EferLongModeEnable | PagingBits.EferLongModeActive | PagingBits.EferNoExecuteEnable;
}
