using System.Runtime.InteropServices;
using Ember.Sys.Interop;

namespace Ember.Memory.Interop;

/// <summary>
/// One mmap(2)'d range of host virtual memory, unmapped exactly once when the handle is
/// released. Used for guest RAM (<see cref="Anonymous"/>) and for mapping a kernel object
/// through its fd, such as a KVM vCPU's <c>kvm_run</c> page (<see cref="MapFile"/>).
/// Spans and pointers obtained from a mapping are only valid until it is disposed; the
/// owner must stop every user (vCPU and device threads) before disposing.
/// </summary>
public sealed class MemoryMapping : SafeHandle
{
    private MemoryMapping(ulong length)
        : base(Libc.MapFailed, ownsHandle: true)
    {
        Length = length;
    }

    /// <summary>The length in bytes that was mapped.</summary>
    public ulong Length { get; }

    /// <summary>The host address of the first byte; throws once the mapping is disposed.</summary>
    public nint Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle;
        }
    }

    public override bool IsInvalid => handle == Libc.MapFailed || handle == 0;

    /// <summary>
    /// Maps <paramref name="length"/> bytes of zero-filled, private, read/write memory.
    /// With <paramref name="noReserve"/> no commit charge is taken up front (MAP_NORESERVE),
    /// so a mapping larger than RAM + swap succeeds and only touched pages cost memory.
    /// </summary>
    /// <exception cref="NativeMemoryException">mmap failed, e.g. ENOMEM.</exception>
    public static MemoryMapping Anonymous(ulong length, bool noReserve)
    {
        var flags = MappingFlags.Private | MappingFlags.Anonymous;
        if (noReserve)
        {
            flags |= MappingFlags.NoReserve;
        }
        return Map(length, MemoryProtection.ReadWrite, flags, Libc.NoFileDescriptor, offset: 0);
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of the object behind <paramref name="fd"/> from
    /// <paramref name="offset"/> (which the kernel requires to be page-aligned). The fd is
    /// kept alive for the duration of the call only; the kernel holds its own reference to
    /// the mapped object afterwards, so the fd may be closed while the mapping lives.
    /// </summary>
    /// <exception cref="NativeMemoryException">mmap failed, e.g. EACCES, EINVAL, ENODEV.</exception>
    public static MemoryMapping MapFile(SafeHandle fd, ulong length, MemoryProtection protection, MappingFlags flags, long offset)
    {
        ArgumentNullException.ThrowIfNull(fd);
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            return Map(length, protection, flags, checked((int)fd.DangerousGetHandle()), offset);
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// A span over [offset, offset + length) of the mapping. Throws
    /// <see cref="ArgumentOutOfRangeException"/> when the range is not inside the mapping.
    /// The span must not outlive the mapping (see the class remarks).
    /// </summary>
    public Span<byte> GetSpan(ulong offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Length || (ulong)length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"range 0x{offset:x}+0x{length:x} is outside the 0x{Length:x}-byte mapping");
        }
        nint start = Pointer;
        unsafe
        {
            // Safe because [offset, offset + length) was just checked to lie inside the
            // Length bytes that mmap returned at start, and Pointer threw if the mapping
            // had already been unmapped.
            return new Span<byte>((byte*)start + offset, length);
        }
    }

    /// <summary>Applies madvise(2) to the whole mapping.</summary>
    /// <exception cref="NativeMemoryException">madvise failed, e.g. EINVAL when THP is unsupported.</exception>
    public void Advise(MemoryAdvice advice)
    {
        bool added = false;
        try
        {
            // The reference keeps a concurrent Dispose from unmapping the range mid-call.
            DangerousAddRef(ref added);
            if (Libc.Madvise(handle, (nuint)Length, (int)advice) != 0)
            {
                throw NativeMemoryException.FromLastError("madvise");
            }
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle() => Libc.Munmap(handle, (nuint)Length) == 0;

    private static MemoryMapping Map(ulong length, MemoryProtection protection, MappingFlags flags, int fd, long offset)
    {
        // mmap(2) rejects a zero length with EINVAL; say so in .NET terms instead.
        ArgumentOutOfRangeException.ThrowIfZero(length);
        // The handle object exists before the call so that no successful mapping can be
        // lost between mmap returning and a SafeHandle taking ownership of it.
        var mapping = new MemoryMapping(length);
        nint address = Libc.Mmap(0, (nuint)length, (int)protection, (int)flags, fd, offset);
        if (address == Libc.MapFailed)
        {
            var error = NativeMemoryException.FromLastError("mmap");
            mapping.SetHandleAsInvalid();
            throw error;
        }
        mapping.SetHandle(address);
        return mapping;
    }
}
