using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Guest-RAM chores shared by the loaders: find the end of low RAM, and write or zero a range
/// after checking that RAM covers it, so a loader never fails with a bare memory exception.
/// </summary>
internal static class GuestRam
{
    private const int ZeroChunkSize = 64 * 1024;

    /// <summary>
    /// One past the last byte of the contiguous RAM that contains 1 MiB, capped at 4 GiB: where
    /// kernels, initrds and modules addressed by 32-bit boot fields can go.
    /// </summary>
    public static ulong LowRamEnd(IGuestMemory memory)
    {
        ulong end = 0;
        bool found = false;
        foreach (var region in memory.Regions)
        {
            if (!found)
            {
                if (region.Contains(new GuestAddress(Layout.HighMemoryStart)))
                {
                    found = true;
                    end = region.End;
                }
            }
            else if (region.Start.Value == end)
            {
                end = region.End;
            }
            else
            {
                break;
            }
        }

        if (!found)
        {
            throw new BootImageException("guest RAM does not reach 1 MiB; at least a few MiB are needed to boot");
        }
        return Math.Min(end, Layout.FourGiB);
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="address"/>, which must be wholly inside RAM.</summary>
    public static void Write(IGuestMemory memory, ulong address, ReadOnlySpan<byte> data, string what)
    {
        Require(memory, address, (ulong)data.Length, what);
        memory.Write(new GuestAddress(address), data);
    }

    /// <summary>Zeroes [address, address + length), which must be wholly inside RAM.</summary>
    public static void Zero(IGuestMemory memory, ulong address, ulong length, string what)
    {
        Require(memory, address, length, what);
        ReadOnlySpan<byte> zeros = new byte[(int)Math.Min(length, ZeroChunkSize)];
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, (ulong)zeros.Length);
            memory.Write(new GuestAddress(address), zeros[..chunk]);
            address += (ulong)chunk;
            length -= (ulong)chunk;
        }
    }

    /// <summary>Throws unless [address, address + length) lies inside RAM and does not overflow.</summary>
    public static void Require(IGuestMemory memory, ulong address, ulong length, string what)
    {
        if (length > ulong.MaxValue - address)
        {
            throw new BootImageException($"{what} at 0x{address:x} with length 0x{length:x} overflows the address space");
        }
        if (!memory.IsValidRange(new GuestAddress(address), length))
        {
            throw new BootImageException($"{what} at 0x{address:x}-0x{address + length:x} is outside guest RAM");
        }
    }
}
