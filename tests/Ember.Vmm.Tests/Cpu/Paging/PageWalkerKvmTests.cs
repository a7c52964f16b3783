using CsCheck;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Cpu.Paging;
using Ember.Vmm.Host;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>
/// The software walker against the real thing: assembled guests turn on 32-bit, PAE and 4-level paging (5-level where
/// the host CPU has LA57) over page tables with random mappings at odd linear addresses, write markers through some
/// of them, and halt. For hundreds of linear addresses the walker must translate exactly as KVM_TRANSLATE does, and
/// reading the markers through the walker must give what the guest wrote.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class PageWalkerKvmTests
{
    /// <summary>One random page; with <c>Overwide</c> its physical address has a bit above MAXPHYADDR, which both walkers must refuse.</summary>
    private readonly record struct PageRequest(int SizeIndex, ulong Linear, ulong Physical, bool Writable, bool User, bool NoExecute, bool Overwide);

    /// <summary>Where a probe goes: at a mapped page's first or last byte, inside it, just past it, or anywhere.</summary>
    private readonly record struct Probe(int Kind, ulong Pick, ulong Value);

    private static readonly Gen<PageRequest> RequestGen =
        Gen.Select(Gen.Int[0, 2], Gen.ULong, Gen.ULong, Gen.Bool, Gen.Bool, Gen.Bool, Gen.Int[0, 9],
            (size, linear, physical, writable, user, noExecute, poison) => new PageRequest(size, linear, physical, writable, user, noExecute, poison == 0));

    private static readonly Gen<Probe> ProbeGen = Gen.Select(Gen.Int[0, 4], Gen.ULong, Gen.ULong, (kind, pick, value) => new Probe(kind, pick, value));

    public static TheoryData<PagingMode> Modes => [PagingMode.ThirtyTwoBit, PagingMode.Pae, PagingMode.FourLevel, PagingMode.FiveLevel];

    [Theory]
    [MemberData(nameof(Modes))]
    public void TheWalkerTranslatesAsKvmDoesAndReadsWhatTheGuestWroteThroughOddLinearAddresses(PagingMode mode)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        if (mode == PagingMode.FiveLevel && !HostHasLa57())
        {
            // No LA57 on this CPU: what can be checked here is that KVM refuses CR4.LA57, so no guest can be in
            // 5-level paging and the walker's 5-level path is exercised by the hand-built tables only.
            using var plain = PagedGuest.Create(PagingMode.FourLevel);
            var sregs = plain.Machine.Vcpu.GetSpecialRegisters();
            sregs.Cr4 |= 1UL << 12;
            Assert.Throws<KvmException>(() => plain.Machine.Vcpu.SetSpecialRegisters(sregs));
            TestContext.Current.TestOutputHelper?.WriteLine("5-level paging: the host CPU has no LA57 and KVM refused CR4.LA57; the walker's 5-level path is covered by PageWalkerTests");
            return;
        }

        using (var first = PagedGuest.Create(mode))
        {
            MapOddPagesWithMarkers(first);
            first.Run();
            if (RefusedAsKvmPvmDoes(first, mode))
                return;
        }

        Gen.Select(RequestGen.Array[5, 40], ProbeGen.Array[300]).Sample((requests, probes) =>
        {
            using var guest = PagedGuest.Create(mode);
            MapOddPagesWithMarkers(guest);
            foreach (var request in requests)
                MapRandom(guest, request);
            var state = guest.Run();
            Assert.Equal(mode, state.Mode);
            var memory = guest.Machine.Memory;

            var bytes = new byte[4];
            foreach (var (linear, value) in guest.Markers)
            {
                Assert.True(LinearMemory.TryRead(state, memory, linear, bytes, PageAccess.SupervisorRead, out _, out var fault), fault.ToString());
                Assert.Equal(value, BitConverter.ToUInt32(bytes));
            }
            foreach (var probe in probes)
            {
                var mapping = guest.Tables.Mappings[(int)(probe.Pick % (ulong)guest.Tables.Mappings.Count)];
                ulong linear = probe.Kind switch
                {
                    0 => mapping.Linear,
                    1 => mapping.Linear + mapping.Size - 1,
                    2 => mapping.Linear + probe.Value % mapping.Size,
                    3 => Canonical(mode, mapping.Linear + mapping.Size + probe.Value % 0x2000),
                    _ => Canonical(mode, probe.Value),
                };
                CompareWithKvm(guest, state, linear);
            }
        }, iter: 3, threads: 1);
    }

    /// <summary>
    /// Two 4 KiB pages next to each other in linear space but apart (and backwards) in RAM, across a page-table boundary,
    /// and a large page; the guest writes a marker across the first pair and at the large page's last bytes. In long mode
    /// also a 1 GiB page (where the vCPU has no 1 GiB pages its PS bit is reserved, and both walkers must say so) and,
    /// with 5 levels, a page above the 48-bit space.
    /// </summary>
    private static void MapOddPagesWithMarkers(PagedGuest guest)
    {
        var tables = guest.Tables;
        (ulong pair, ulong large) = tables.Mode switch
        {
            PagingMode.ThirtyTwoBit => (0xDEC0_0000UL, 0x7FC0_0000UL),
            PagingMode.Pae => (0xBF00_0000UL, 0xC020_0000UL),
            _ => (0xFFFF_8765_4340_0000UL, 0x0000_7F12_3440_0000UL),
        };
        ulong largeSize = tables.PageSizes[1];
        tables.Map(pair - 0x1000, 0x50_3000, 0x1000);
        tables.Map(pair, 0x44_1000, 0x1000);
        tables.Map(large, 0x80_0000, largeSize);
        guest.WriteMarker(pair - 2, 0x1122_3344);
        guest.WriteMarker(pair + 0x800, 0x5566_7788);
        guest.WriteMarker(large + largeSize - 4, 0x99AA_BBCC);
        if (tables.Mode is PagingMode.FourLevel or PagingMode.FiveLevel)
        {
            tables.Map(0xFFFF_FFC0_0000_0000, 0, 0x4000_0000);
            if (guest.Features.Supports1GiBPages)
                guest.WriteMarker(0xFFFF_FFC0_00A0_0010, 0xDDEE_FF00);
        }
        if (tables.Mode == PagingMode.FiveLevel)
        {
            tables.Map(0x00AB_CDEF_1234_5000, 0x50_5000, 0x1000);
            guest.WriteMarker(0x00AB_CDEF_1234_5678, 0x0BAD_F00D);
        }
    }

    private static void MapRandom(PagedGuest guest, PageRequest request)
    {
        var tables = guest.Tables;
        var mode = tables.Mode;
        ulong size = tables.PageSizes[request.SizeIndex % tables.PageSizes.Count];
        // Physical addresses stay below the vCPU's MAXPHYADDR; 32-bit paging's 4 KiB pages below 4 GiB and its 4 MiB pages
        // below 64 GiB: KVM implements PSE-36 as 36 bits (arch/x86/kvm/mmu/mmu.c), where the SDM allows up to 40.
        int bits = mode != PagingMode.ThirtyTwoBit ? guest.Features.PhysicalAddressBits : size == 0x1000 ? 32 : 36;
        ulong physical = request.Physical & ((1UL << bits) - 1) & ~(size - 1);
        if (request.Overwide && mode != PagingMode.ThirtyTwoBit)
            physical |= 1UL << (bits + (int)(request.Physical >> 63));  // MAXPHYADDR itself (where an off-by-one would hide) or one above
        ulong flags = GuestPageTables.Present
            | (request.Writable ? GuestPageTables.Writable : 0)
            | (request.User ? GuestPageTables.User : 0)
            | (request.NoExecute && mode != PagingMode.ThirtyTwoBit ? PagingBits.ExecuteDisable : 0);
        tables.TryMap(Canonical(mode, request.Linear) & ~(size - 1), physical, size, flags);
    }

    private static void CompareWithKvm(PagedGuest guest, PagingState state, ulong linear)
    {
        var kvm = guest.Machine.Vcpu.Translate(linear);
        bool walked = PageWalker.TryWalk(state, guest.Machine.Memory, linear, out var translation, out var fault);
        Assert.True(kvm.IsValid == walked,
            $"0x{linear:x}: KVM_TRANSLATE says {(kvm.IsValid ? $"0x{kvm.PhysicalAddress:x}" : "unmapped")}, the walker {(walked ? translation.ToString() : fault.ToString())}");
        // And both agree with what was mapped: a page, a reserved bit (PS without 1 GiB pages, an address past MAXPHYADDR), or nothing.
        var expected = guest.Tables.Find(linear);
        bool reserved = expected is { } m
            && ((m.Size == 0x4000_0000 && !guest.Features.Supports1GiBPages) || m.Physical >> guest.Features.PhysicalAddressBits != 0);
        if (walked)
        {
            Assert.Equal(kvm.PhysicalAddress, translation.PhysicalAddress);
            Assert.NotNull(expected);
            Assert.False(reserved);
            Assert.Equal(expected.Value.Size, translation.PageSize);
        }
        else if (reserved)
        {
            Assert.Equal((PageFaultReason.ReservedBitSet, guest.Tables.LeafLevel(expected!.Value.Size)), (fault.Reason, fault.Level!.Value));
        }
        else
        {
            Assert.Null(expected);
            Assert.Equal(PageFaultReason.NotPresent, fault.Reason);
        }
    }

    [Fact]
    public void APaeWalkStartsFromThePdpteRegistersKvmReportsNotFromTheRewrittenTable()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using var guest = PagedGuest.Create(PagingMode.Pae);
        Assert.SkipUnless(guest.Machine.Kvm.HasCapability(KvmCapability.Sregs2), "KVM_CAP_SREGS2 is not offered by this kernel (before Linux 5.14)");
        const ulong large = 0xC020_0000;
        guest.Tables.Map(large, 0x80_0000, 0x20_0000);
        // With paging on, the guest clears PDPTE 3 (linear 0xC0000000 up) in memory but does not reload CR3.
        guest.WriteMarker(guest.Tables.EntryAddress(large, PagingLevel.Pdpte), 0);
        guest.Run();
        if (RefusedAsKvmPvmDoes(guest, PagingMode.Pae))
            return;
        var vcpu = guest.Machine.Vcpu;
        var fromMemory = PagingState.FromRegisters(vcpu.GetSpecialRegisters(), vcpu.GetRegisters().Rflags, guest.Features);
        var fromRegisters = PagingState.FromRegisters(vcpu.GetSpecialRegisters2(), vcpu.GetRegisters().Rflags, guest.Features);
        Assert.NotNull(fromRegisters.PaePdptes);

        // Intel keeps the PDPTEs it loaded (VMX has guest-PDPTE fields); KVM on AMD reloads them from memory after an exit
        // (AMD caches no PDPTE registers under nested paging). Either way the walk from KVM_GET_SREGS2's PDPTEs is KVM's own.
        var kvm = vcpu.Translate(large + 0x1234);
        bool walked = PageWalker.TryWalk(fromRegisters, guest.Machine.Memory, large + 0x1234, out var translation, out _);
        Assert.Equal(kvm.IsValid, walked);
        Assert.Equal(fromRegisters.PaePdptes!.Value.Pdpte3 != 0, walked);
        if (walked)
            Assert.Equal((0x80_1234UL, kvm.PhysicalAddress), (translation.PhysicalAddress, translation.PhysicalAddress));
        Assert.False(PageWalker.TryWalk(fromMemory, guest.Machine.Memory, large + 0x1234, out _, out var fault));
        Assert.Equal((PageFaultReason.NotPresent, PagingLevel.Pdpte), (fault.Reason, fault.Level!.Value));
    }

    [Theory]
    [InlineData(PagingMode.FourLevel)]
    public void NonCanonicalAddressesFaultInTheWalkerBeforeAnyTableIsRead(PagingMode mode)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using var guest = PagedGuest.Create(mode);
        guest.Tables.Map(0x0000_7FFF_FFFF_F000, 0x50_3000, 0x1000);
        var state = guest.Run();
        Assert.True(PageWalker.TryWalk(state, guest.Machine.Memory, 0x0000_7FFF_FFFF_F123, out _, out _));
        // The same PML4 index with bit 47's copies wrong: no translation, whatever the tables say.
        Assert.False(PageWalker.TryWalk(state, guest.Machine.Memory, 0x0001_7FFF_FFFF_F123, out _, out var fault));
        Assert.Equal((PageFaultReason.NonCanonical, (PagingLevel?)null), (fault.Reason, fault.Level));
    }

    /// <summary>
    /// Whether the guest's mov to CR0 with PG raised #GP. Only kvm_pvm does that (it pages only in long mode, see
    /// docs/host-quirks.md): there the refusal itself is what is checked, and the walker's 32-bit and PAE paths are
    /// covered by the hand-built tables of PageWalkerTests; on any other KVM a refusal fails the test.
    /// </summary>
    private static bool RefusedAsKvmPvmDoes(PagedGuest guest, PagingMode mode)
    {
        if (!guest.PagingRefused)
            return false;
        Assert.True(KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm, $"{mode} paging was refused (#GP on mov to CR0) by a KVM that is not kvm_pvm");
        TestContext.Current.TestOutputHelper?.WriteLine($"{mode} paging: kvm_pvm refused it with #GP, as documented; the walker's {mode} path is covered by PageWalkerTests");
        return true;
    }

    private static bool HostHasLa57()
    {
        using var kvm = KvmSystem.Open();
        return kvm.GetSupportedCpuid().Any(e => e.Function == 7 && e.Index == 0 && (e.Ecx & (1u << 16)) != 0);
    }

    private static ulong Canonical(PagingMode mode, ulong value) => mode switch
    {
        PagingMode.FourLevel => (ulong)((long)(value << 16) >> 16),
        PagingMode.FiveLevel => (ulong)((long)(value << 7) >> 7),
        _ => value & 0xFFFF_FFFF,
    };
}
