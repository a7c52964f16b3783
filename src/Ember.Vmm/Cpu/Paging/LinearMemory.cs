using Ember.Memory;

namespace Ember.Vmm.Cpu.Paging;

/// <summary>
/// Reads and writes guest memory at linear addresses through <see cref="PageWalker"/>: an access is split at every
/// 4 KiB boundary and each piece translated and checked on its own, so it may cross pages (of any size, mapped
/// anywhere). One request is capped at <see cref="MaxAccessLength"/> bytes, which bounds the walks and the time
/// a vCPU is held for it.
/// </summary>
public static class LinearMemory
{
    /// <summary>The longest single read or write (a debugger reads memory in packets of a few KiB).</summary>
    public const int MaxAccessLength = 64 * 1024;

    /// <summary>Pieces one capped access can have: every 4 KiB page it touches, plus one for a start in mid-page.</summary>
    private const int MaxPieces = MaxAccessLength / (int)PageWalker.BasePageSize + 1;

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes from <paramref name="linearAddress"/>, page by page. On a fault,
    /// the bytes of the pages before it are in <paramref name="destination"/> (<paramref name="bytesRead"/> says how
    /// many, as a debugger's partial read wants) and <paramref name="fault"/> says why the next page could not be read.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The request is longer than <see cref="MaxAccessLength"/>.</exception>
    public static bool TryRead(PagingState state, IGuestMemory memory, ulong linearAddress, Span<byte> destination, PageAccess access,
        out int bytesRead, out PageFault fault)
    {
        CheckLength(destination.Length);
        bytesRead = 0;
        fault = default;
        while (bytesRead < destination.Length)
        {
            if (!TryPiece(state, memory, linearAddress, bytesRead, destination.Length, access, out var physical, out int length, out fault))
                return false;
            // The piece was proven to lie in RAM; a read cannot fail now, the check is only belt and braces.
            if (!memory.TryRead(physical, destination.Slice(bytesRead, length)))
                return OutsideRam(linearAddress + (ulong)bytesRead, physical.Value, out fault);
            bytesRead += length;
        }
        return true;
    }

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="linearAddress"/>, all or nothing: every page is translated,
    /// checked for <paramref name="access"/> and proven to be RAM before the first byte is written.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The request is longer than <see cref="MaxAccessLength"/>.</exception>
    public static bool TryWrite(PagingState state, IGuestMemory memory, ulong linearAddress, ReadOnlySpan<byte> source, PageAccess access,
        out PageFault fault)
    {
        CheckLength(source.Length);
        fault = default;
        Span<Piece> pieces = stackalloc Piece[MaxPieces];
        int count = 0, done = 0;
        while (done < source.Length)
        {
            if (!TryPiece(state, memory, linearAddress, done, source.Length, access, out var physical, out int length, out fault))
                return false;
            pieces[count++] = new Piece(physical, done, length);
            done += length;
        }
        foreach (var piece in pieces[..count])
        {
            if (!memory.TryWrite(piece.Physical, source.Slice(piece.Offset, piece.Length)))
                return OutsideRam(linearAddress + (ulong)piece.Offset, piece.Physical.Value, out fault);
        }
        return true;
    }

    private static void CheckLength(int length)
    {
        if (length > MaxAccessLength)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"one access through the page tables is at most {MaxAccessLength} bytes");
    }

    /// <summary>Translates the piece of the access that starts <paramref name="done"/> bytes in and ends at the next 4 KiB boundary (or the end).</summary>
    private static bool TryPiece(PagingState state, IGuestMemory memory, ulong start, int done, int total, PageAccess access,
        out GuestAddress physical, out int length, out PageFault fault)
    {
        physical = default;
        length = 0;
        ulong linear = start + (ulong)done;
        if (linear < start)
        {
            // The access ran past 2^64: no CPU access wraps around there on our behalf.
            fault = new PageFault(linear, PageFaultReason.OutsideLinearAddressSpace);
            return false;
        }
        if (!PageWalker.TryTranslate(state, memory, linear, access, out var translation, out fault))
            return false;
        ulong toBoundary = PageWalker.BasePageSize - (linear & (PageWalker.BasePageSize - 1));
        length = (int)Math.Min((ulong)(total - done), toBoundary);
        physical = new GuestAddress(translation.PhysicalAddress);
        if (!memory.IsValidRange(physical, (ulong)length))
            return OutsideRam(linear, translation.PhysicalAddress, out fault, translation.Leaf);
        return true;
    }

    private static bool OutsideRam(ulong linear, ulong physical, out PageFault fault, PagingEntry? leaf = null)
    {
        fault = new PageFault(linear, PageFaultReason.PageOutsideRam, leaf, physical);
        return false;
    }

    /// <summary>One page's part of an access: where it goes in guest physical memory and which bytes of the request it holds.</summary>
    private readonly record struct Piece(GuestAddress Physical, int Offset, int Length);
}
