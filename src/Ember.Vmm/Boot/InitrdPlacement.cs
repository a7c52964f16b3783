namespace Ember.Vmm.Boot;

/// <summary>
/// Chooses where an initrd (or boot module) goes: as high as possible, page-aligned, below a
/// ceiling and above everything the kernel occupies. High placement keeps it out of the way of
/// the kernel's decompression and early allocations (boot.rst recommends the highest address
/// below initrd_addr_max).
/// </summary>
internal static class InitrdPlacement
{
    /// <param name="size">Initrd bytes (non-zero).</param>
    /// <param name="lowestStart">First byte the initrd may use (end of the kernel's footprint).</param>
    /// <param name="ceiling">One past the last byte the initrd may use.</param>
    /// <returns>The 4 KiB-aligned start address.</returns>
    public static ulong Place(ulong size, ulong lowestStart, ulong ceiling)
    {
        if (size > ceiling || ((ceiling - size) & ~(Layout.PageSize - 1)) < lowestStart)
        {
            throw new BootImageException(
                $"initrd of {size} bytes does not fit between the kernel end 0x{lowestStart:x} and 0x{ceiling:x}; raise --memory");
        }
        return (ceiling - size) & ~(Layout.PageSize - 1);
    }
}
