using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Cpu.Paging;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Cpu.Paging;

/// <summary>
/// A real KVM guest that turns on a paging mode itself, with page tables built by <see cref="GuestPageTables"/>:
/// the first 4 MiB identity-mapped (code, stack, GDT), a few pages at odd linear addresses that the guest writes
/// markers through, and whatever else the test maps. After <see cref="Run"/> the vCPU has halted with paging on.
/// </summary>
internal sealed class PagedGuest : IDisposable
{
    /// <summary>Page tables go here (2 MiB of table pages), data pages above.</summary>
    public const ulong TableArea = 0x20_0000, TableAreaSize = 0x20_0000;

    private const ulong IdentitySize = 0x40_0000;
    private readonly List<(ulong Linear, uint Value)> _markers = [];

    private PagedGuest(TestMachine machine, PagingMode mode)
    {
        Machine = machine;
        Tables = new GuestPageTables(machine.Memory, mode, TableArea, TableAreaSize);
        Features = PagingCpuFeatures.FromCpuid(machine.Vcpu.GetCpuid());
        ulong step = Tables.PageSizes[1];
        for (ulong page = 0; page < IdentitySize; page += step)
            Tables.Map(page, page, step);
    }

    public TestMachine Machine { get; }

    public GuestPageTables Tables { get; }

    /// <summary>What the vCPU's CPUID says (MAXPHYADDR, 1 GiB pages): random mappings must stay inside it, as the walker does.</summary>
    public PagingCpuFeatures Features { get; }

    /// <summary>The (linear address, value) pairs the guest wrote, in order.</summary>
    public IReadOnlyList<(ulong Linear, uint Value)> Markers => _markers;

    public static PagedGuest Create(PagingMode mode) => new(TestMachine.Create(memorySize: 16UL << 20), mode);

    /// <summary>The guest will write <paramref name="value"/> (4 bytes) at <paramref name="linear"/> once paging is on.</summary>
    public void WriteMarker(ulong linear, uint value) => _markers.Add((linear, value));

    /// <summary>
    /// True after <see cref="Run"/> when the CPU refused the mode: the guest's <c>mov cr0</c> raised #GP (kvm_pvm does so
    /// for paging outside long mode), which a #GP handler records at <see cref="TestGuestLayout.Counter"/>.
    /// </summary>
    public bool PagingRefused => Machine.ReadUInt32(TestGuestLayout.Counter) == GeneralProtectionVector;

    private const uint GeneralProtectionVector = 13;

    /// <summary>Assembles the guest, runs it to its HLT and returns the vCPU's paging state as KVM reports it.</summary>
    public PagingState Run()
    {
        var mode = Tables.Mode;
        if (mode is PagingMode.ThirtyTwoBit or PagingMode.Pae)
        {
            Machine.LoadProtected32(EnableLegacyPagingAndWrite);
            Machine.WriteCode(32, TestGuestLayout.Handlers, a =>
            {
                a.mov(__dword_ptr[(uint)TestGuestLayout.Counter], GeneralProtectionVector);
                a.hlt();
            });
            SetProtectedModeGate(GeneralProtectionVector, (uint)TestGuestLayout.Handlers);
            if (mode == PagingMode.Pae)
            {
                var sregs = Machine.Vcpu.GetSpecialRegisters();
                sregs.Efer |= PagingBits.EferNoExecuteEnable;  // XD bits in the random mappings mean no-execute, not reserved
                Machine.Vcpu.SetSpecialRegisters(sregs);
            }
        }
        else
        {
            Machine.LoadLong64(SwitchTablesAndWrite);
            var sregs = Machine.Vcpu.GetSpecialRegisters();
            sregs.Efer |= PagingBits.EferNoExecuteEnable;
            sregs.Cr0 |= PagingBits.Cr0WriteProtect;
            if (mode == PagingMode.FiveLevel)
            {
                // LA57 cannot change while long mode is active (Intel SDM vol. 3A §4.1.2): the host enters 5-level paging directly.
                sregs.Cr4 |= PagingBits.Cr4La57;
                sregs.Cr3 = Tables.Root;
            }
            Machine.Vcpu.SetSpecialRegisters(sregs);
        }
        Machine.Run((_, exit) => exit.Reason != VcpuExitReason.Hlt, TimeSpan.FromSeconds(60));
        ulong rflags = Machine.Vcpu.GetRegisters().Rflags;
        // As VcpuMemoryView does: KVM_GET_SREGS2 where KVM has it, so a PAE walk starts from the PDPTE registers the vCPU
        // loaded with CR3. The PDPT in memory may have changed since: QEMU's emulated AMD-V (the nested test VM) sets the
        // accessed bit, reserved in a PAE PDPTE, in the entries it walked.
        try
        {
            return PagingState.FromRegisters(Machine.Vcpu.GetSpecialRegisters2(), rflags, Features);
        }
        catch (KvmException)
        {
            return PagingState.FromRegisters(Machine.Vcpu.GetSpecialRegisters(), rflags, Features);
        }
    }

    /// <summary>A 32-bit interrupt gate (P, DPL 0, type 0xE) in the protected-mode IDT the test machine points at.</summary>
    private void SetProtectedModeGate(uint vector, uint handler)
    {
        ulong gate = (handler & 0xFFFF) | ((ulong)TestGuestLayout.Code32Selector << 16) | (0x8EUL << 40) | ((ulong)(handler >> 16) << 48);
        Machine.WriteUInt64(TestGuestLayout.Idt + vector * 8, gate);
    }

    /// <summary>From flat protected mode: CR4 (PSE or PAE), CR3, then CR0.PG|WP; then the markers.</summary>
    private void EnableLegacyPagingAndWrite(Assembler a)
    {
        a.mov(eax, cr4);
        a.or(eax, Tables.Mode == PagingMode.Pae ? (int)PagingBits.Cr4PhysicalAddressExtension : (int)PagingBits.Cr4PageSizeExtensions);
        a.mov(cr4, eax);
        a.mov(eax, (uint)Tables.Root);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)(PagingBits.Cr0Paging | PagingBits.Cr0WriteProtect)));
        a.mov(cr0, eax);
        foreach (var (linear, value) in _markers)
        {
            a.mov(ebx, (uint)linear);
            a.mov(__dword_ptr[ebx], value);
        }
        a.hlt();
    }

    /// <summary>From the test machine's identity-mapped long mode: CR3 to our tables (4-level; 5-level was set by the host), then the markers.</summary>
    private void SwitchTablesAndWrite(Assembler a)
    {
        if (Tables.Mode == PagingMode.FourLevel)
        {
            a.mov(rax, Tables.Root);
            a.mov(cr3, rax);
        }
        foreach (var (linear, value) in _markers)
        {
            a.mov(rbx, linear);
            a.mov(__dword_ptr[rbx], value);
        }
        a.hlt();
    }

    public void Dispose() => Machine.Dispose();
}
