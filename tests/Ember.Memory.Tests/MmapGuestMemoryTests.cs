using Ember.Memory.Interop;

namespace Ember.Memory.Tests;

public sealed class MmapGuestMemoryTests : GuestMemoryContractTests
{
    private const ulong GiB = 1UL << 30;

    protected override IGuestMemory CreateCore(params (GuestAddress Start, ulong Size)[] regions) => MmapGuestMemory.Create(regions);

    [Fact]
    public void MappedRegionsMatchRegionsAndHaveDistinctPageAlignedHostAddresses()
    {
        using var memory = MmapGuestMemory.Create((new GuestAddress(0x10_0000), 0x4000), (GuestAddress.Zero, 0x2000));

        Assert.Equal(memory.Regions, memory.MappedRegions.Select(m => m.Region));
        Assert.All(memory.MappedRegions, m => Assert.Equal(0, m.HostAddress % (nint)GuestMemoryBase.PageSize));
        Assert.NotEqual(memory.MappedRegions[0].HostAddress, memory.MappedRegions[1].HostAddress);
    }

    [Fact]
    public void HostAddressPointsAtTheGuestBytes()
    {
        using var memory = MmapGuestMemory.Create((new GuestAddress(0x2000), 0x2000));
        memory.WriteObject(new GuestAddress(0x2010), 0xCAFEF00Du);

        nint host = memory.MappedRegions[0].HostAddress;
        unsafe
        {
            // Safe because the region is 0x2000 bytes long and still mapped (memory is not disposed).
            Assert.Equal(0xCAFEF00Du, *(uint*)(host + 0x10));
        }
    }

    [Fact]
    public void SixtyFourGibibyteGuestCanBeCreatedWithoutReservingIt()
    {
        // More than this machine's RAM: only MAP_NORESERVE lets the kernel's overcommit
        // heuristic accept it. Touch both ends to show the whole range is really mapped.
        using var memory = MmapGuestMemory.Create((GuestAddress.Zero, 3 * GiB), (new GuestAddress(4 * GiB), 61 * GiB));
        Assert.Equal(64 * GiB, memory.Size);

        var last = new GuestAddress(65 * GiB - 8);
        memory.WriteObject(last, 0x1122334455667788UL);
        memory.WriteObject(GuestAddress.Zero, 0x99UL);
        Assert.Equal(0x1122334455667788UL, memory.ReadObject<ulong>(last));
        Assert.Equal(0x99UL, memory.ReadObject<ulong>(GuestAddress.Zero));
    }

    [Fact]
    public void AdviseDontNeedDiscardsGuestPages()
    {
        using var memory = MmapGuestMemory.Create((GuestAddress.Zero, 0x2000));
        memory.WriteObject(new GuestAddress(0x1800), 0xFFFF_FFFFu);

        memory.Advise(MemoryAdvice.DontNeed);

        // Private anonymous pages read back zero-filled after MADV_DONTNEED (madvise(2)).
        Assert.Equal(0u, memory.ReadObject<uint>(new GuestAddress(0x1800)));
    }

    [Fact]
    public void AWindowKeptPastDisposeThrowsObjectDisposedInsteadOfTouchingTheUnmappedRange()
    {
        var memory = MmapGuestMemory.Create((GuestAddress.Zero, 0x2000));
        Assert.True(memory.TryGetMemory(new GuestAddress(0x1000), 0x100, out var window));
        window.Span[0] = 0x5A;
        Assert.Equal(0x5A, memory.ReadObject<byte>(new GuestAddress(0x1000)));
        using (var pin = window.Pin())
        {
            Assert.Equal(memory.MappedRegions[0].HostAddress + 0x1000, PinnedAddress(pin));
        }
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => window.Span[0]);
        Assert.Throws<ObjectDisposedException>(() => window.Pin());
    }

    private static unsafe nint PinnedAddress(System.Buffers.MemoryHandle pin) => (nint)pin.Pointer;

    [Fact]
    public void AccessAfterDisposeThrowsObjectDisposed()
    {
        var memory = MmapGuestMemory.Create((GuestAddress.Zero, 0x1000));
        memory.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.ReadObject<uint>(GuestAddress.Zero));
        Assert.Throws<ObjectDisposedException>(() => memory.GetSpan(GuestAddress.Zero, 4));
        memory.Dispose(); // idempotent
    }
}
