using Ember.Memory;
using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>The rights check (Intel SDM vol. 3A §4.6.1): R/W with CR0.WP, U/S, XD with EFER.NXE, SMEP and SMAP, and who is blamed.</summary>
public sealed class PageWalkerAccessTests
{
    private const ulong Tables = 0x10_0000, TablesSize = 0x10_0000;
    private const ulong Page = 0x40_1000;

    private static (ArrayGuestMemory Memory, GuestPageTables Tables) Build(PagingMode mode, ulong leafFlags)
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x100_0000));
        var tables = new GuestPageTables(memory, mode, Tables, TablesSize);
        tables.Map(Page, 0x80_0000, 0x1000, leafFlags);
        return (memory, tables);
    }

    private static PageFault? Check(PagingState state, IGuestMemory memory, PageAccess access) =>
        PageWalker.TryTranslate(state, memory, Page, access, out _, out var fault) ? null : fault;

    public static TheoryData<PagingMode> PagedModes => [PagingMode.ThirtyTwoBit, PagingMode.Pae, PagingMode.FourLevel, PagingMode.FiveLevel];

    [Theory]
    [MemberData(nameof(PagedModes))]
    public void AReadOnlySupervisorPageRefusesUsersAndWritesWhileCr0WpIsSet(PagingMode mode)
    {
        var (memory, tables) = Build(mode, GuestPageTables.Present);
        var state = PagingStates.For(tables);
        Assert.Null(Check(state, memory, PageAccess.SupervisorRead));
        Assert.Null(Check(state, memory, PageAccess.SupervisorExecute));
        var write = Check(state, memory, PageAccess.SupervisorWrite);
        Assert.Equal((PageFaultReason.WriteToReadOnly, PagingLevel.Pte), (write!.Value.Reason, write.Value.Level));
        var user = Check(state, memory, PageAccess.UserRead);
        Assert.Equal((PageFaultReason.UserAccessToSupervisor, PagingLevel.Pte), (user!.Value.Reason, user.Value.Level));
        // CR0.WP clear: the supervisor writes anywhere; users still may not.
        var noWp = state with { Cr0 = state.Cr0 & ~PagingBits.Cr0WriteProtect };
        Assert.Null(Check(noWp, memory, PageAccess.SupervisorWrite));
        Assert.Equal(PageFaultReason.UserAccessToSupervisor, Check(noWp, memory, PageAccess.UserWrite)!.Value.Reason);
        // A debugger sees and writes it all.
        Assert.Null(Check(state, memory, PageAccess.DebuggerWrite));
        Assert.Null(Check(state, memory, PageAccess.DebuggerRead));
    }

    [Theory]
    [MemberData(nameof(PagedModes))]
    public void AUserWriteToAReadOnlyUserPageFaultsWhateverCr0WpSays(PagingMode mode)
    {
        var (memory, tables) = Build(mode, GuestPageTables.Present | GuestPageTables.User);
        var noWp = PagingStates.For(tables) with { Cr0 = PagingBits.Cr0ProtectionEnable | PagingBits.Cr0Paging };
        Assert.Null(Check(noWp, memory, PageAccess.UserRead));
        Assert.Equal(PageFaultReason.WriteToReadOnly, Check(noWp, memory, PageAccess.UserWrite)!.Value.Reason);
        Assert.Null(Check(noWp, memory, PageAccess.SupervisorWrite));
    }

    [Theory]
    [MemberData(nameof(PagedModes))]
    public void TheFaultNamesTheFirstEntryFromTheRootThatTookTheRightAway(PagingMode mode)
    {
        var (memory, tables) = Build(mode, GuestPageTables.ReadWriteUser);
        var state = PagingStates.For(tables);
        Assert.Null(Check(state, memory, PageAccess.UserWrite));
        // Clear U/S and R/W in both the PDE and the PTE: the PDE, nearer the root, is blamed for both.
        const ulong rights = GuestPageTables.User | GuestPageTables.Writable;
        tables.SetEntry(Page, PagingLevel.Pde, tables.GetEntry(Page, PagingLevel.Pde) & ~rights);
        tables.SetEntry(Page, PagingLevel.Pte, tables.GetEntry(Page, PagingLevel.Pte) & ~rights);
        var user = Check(state, memory, PageAccess.UserRead)!.Value;
        Assert.Equal((PageFaultReason.UserAccessToSupervisor, PagingLevel.Pde), (user.Reason, user.Level));
        Assert.Equal(tables.EntryAddress(Page, PagingLevel.Pde), user.Entry!.Value.Address);
        var write = Check(state, memory, PageAccess.SupervisorWrite)!.Value;
        Assert.Equal((PageFaultReason.WriteToReadOnly, PagingLevel.Pde), (write.Reason, write.Level));
        Assert.Contains("R/W clear in the PDE at 0x", write.ToString());
    }

    [Theory]
    [InlineData(PagingMode.Pae)]
    [InlineData(PagingMode.FourLevel)]
    [InlineData(PagingMode.FiveLevel)]
    public void XdForbidsInstructionFetchesOnlyWithEferNxe(PagingMode mode)
    {
        var (memory, tables) = Build(mode, GuestPageTables.ReadWriteUser | PagingBits.ExecuteDisable);
        var state = PagingStates.For(tables);
        Assert.Null(Check(state, memory, PageAccess.UserWrite));
        var fetch = Check(state, memory, PageAccess.SupervisorExecute)!.Value;
        Assert.Equal((PageFaultReason.ExecuteDisabled, PagingLevel.Pte), (fetch.Reason, fetch.Level));
        Assert.Equal(PageFaultReason.ExecuteDisabled, Check(state, memory, PageAccess.UserExecute)!.Value.Reason);
        // Without NXE bit 63 is reserved: no translation at all.
        var noNx = state with { Efer = state.Efer & ~PagingBits.EferNoExecuteEnable };
        Assert.Equal((PageFaultReason.ReservedBitSet, PagingLevel.Pte), (Check(noNx, memory, PageAccess.SupervisorRead)!.Value.Reason, Check(noNx, memory, PageAccess.SupervisorRead)!.Value.Level));
    }

    [Theory]
    [MemberData(nameof(PagedModes))]
    public void SmepStopsSupervisorFetchesAndSmapSupervisorDataAccessesToUserPages(PagingMode mode)
    {
        var (memory, tables) = Build(mode, GuestPageTables.ReadWriteUser);
        var plain = PagingStates.For(tables);
        Assert.Null(Check(plain, memory, PageAccess.SupervisorExecute));
        Assert.Null(Check(plain, memory, PageAccess.SupervisorWrite));

        var smep = PagingStates.For(tables, PagingBits.Cr4Smep);
        var fetch = Check(smep, memory, PageAccess.SupervisorExecute)!.Value;
        Assert.Equal((PageFaultReason.SupervisorFetchFromUser, PagingLevel.Pte), (fetch.Reason, fetch.Level));
        Assert.Null(Check(smep, memory, PageAccess.UserExecute));
        Assert.Null(Check(smep, memory, PageAccess.SupervisorRead));

        var smap = PagingStates.For(tables, PagingBits.Cr4Smap);
        Assert.Equal(PageFaultReason.SupervisorAccessToUser, Check(smap, memory, PageAccess.SupervisorRead)!.Value.Reason);
        Assert.Equal(PageFaultReason.SupervisorAccessToUser, Check(smap, memory, PageAccess.SupervisorWrite)!.Value.Reason);
        Assert.Null(Check(smap, memory, PageAccess.SupervisorExecute));
        Assert.Null(Check(smap, memory, PageAccess.UserWrite));
        // EFLAGS.AC lets explicit supervisor accesses through (stac/clac).
        Assert.Null(Check(smap with { Rflags = PagingBits.RflagsAlignmentCheck }, memory, PageAccess.SupervisorWrite));
        // A supervisor page is not a user page, whatever the leaf says: U/S clear in the PDE.
        tables.SetEntry(Page, PagingLevel.Pde, tables.GetEntry(Page, PagingLevel.Pde) & ~GuestPageTables.User);
        Assert.Null(Check(smap, memory, PageAccess.SupervisorRead));
        Assert.Null(Check(smep, memory, PageAccess.SupervisorExecute));
    }

    [Fact]
    public void WithPagingOffEveryAccessIsAllowedWhateverCr4Says()
    {
        var memory = ArrayGuestMemory.Create((GuestAddress.Zero, 0x10_0000));
        var state = PagingStates.For(PagingMode.Disabled, 0, PagingBits.Cr4Smap | PagingBits.Cr4Smep);
        foreach (var access in new[] { PageAccess.SupervisorExecute, PageAccess.SupervisorWrite, PageAccess.UserWrite, PageAccess.UserExecute })
            Assert.True(PageWalker.TryTranslate(state, memory, 0x5000, access, out _, out _), access.ToString());
    }
}
