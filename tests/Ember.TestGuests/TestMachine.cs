using System.Buffers.Binary;
using Ember.Kvm;
using Ember.Memory;

namespace Ember.TestGuests;

/// <summary>
/// A real KVM VM with one or more vCPUs and a small RAM, for running assembled guests in tests.
/// It knows how to enter real, protected and long mode directly (registers set through KVM),
/// so a test guest is only the code under test. Every Run is guarded by a watchdog that kicks
/// the vCPU out of KVM_RUN, so a wrong guest fails the test instead of hanging it.
/// </summary>
public sealed class TestMachine : IDisposable
{
    private readonly List<VirtualCpu> _vcpus = [];

    private TestMachine(KvmSystem kvm, VirtualMachine vm, MmapGuestMemory memory, TestIrqchip irqchip)
    {
        Kvm = kvm;
        Vm = vm;
        Memory = memory;
        Irqchip = irqchip;
    }

    public KvmSystem Kvm { get; }
    public VirtualMachine Vm { get; }
    public MmapGuestMemory Memory { get; }
    public TestIrqchip Irqchip { get; }
    public VirtualCpu Vcpu => _vcpus[0];
    public IReadOnlyList<VirtualCpu> Vcpus => _vcpus;

    public static TestMachine Create(TestIrqchip irqchip = TestIrqchip.None, ulong memorySize = TestGuestLayout.DefaultMemorySize, int vcpuCount = 1)
    {
        var kvm = KvmSystem.Open();
        var vm = kvm.CreateVirtualMachine();
        var memory = MmapGuestMemory.Create((GuestAddress.Zero, memorySize));
        var machine = new TestMachine(kvm, vm, memory, irqchip);
        try
        {
            uint slot = 0;
            foreach (var region in memory.MappedRegions)
                vm.SetUserMemoryRegion(slot++, region.Start.Value, region.Size, region.HostAddress);
            TrySetTssAddress(vm);
            switch (irqchip)
            {
                case TestIrqchip.Kernel:
                    vm.CreateIrqchip();
                    break;
                case TestIrqchip.Split:
                    vm.EnableSplitIrqchip(24);
                    break;
            }
            for (uint id = 0; id < vcpuCount; id++)
            {
                var vcpu = vm.CreateVcpu(id);
                machine._vcpus.Add(vcpu);
                vcpu.SetCpuid(kvm.GetSupportedCpuid().Select(e => WithApicId(e, id)).ToArray());
            }
            VirtualCpu.PrepareKickSignal();
            return machine;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    private static void TrySetTssAddress(VirtualMachine vm)
    {
        try
        {
            vm.SetTssAddress(TestGuestLayout.TssAddress);
        }
        catch (KvmException)
        {
            // Only Intel VMX needs the real-mode TSS; other KVM flavours may refuse it.
        }
    }

    private static CpuidEntry WithApicId(CpuidEntry entry, uint apicId)
    {
        if (entry.Function == 1)
            entry.Ebx = (entry.Ebx & 0x00FF_FFFF) | (apicId << 24);
        return entry;
    }

    public void Write(ulong address, ReadOnlySpan<byte> bytes) => Memory.Write(new GuestAddress(address), bytes);

    public uint ReadUInt32(ulong address) => Memory.ReadObject<uint>(new GuestAddress(address));

    public ulong ReadUInt64(ulong address) => Memory.ReadObject<ulong>(new GuestAddress(address));

    public void WriteUInt32(ulong address, uint value) => Memory.WriteObject(new GuestAddress(address), value);

    public void WriteUInt64(ulong address, ulong value) => Memory.WriteObject(new GuestAddress(address), value);

    /// <summary>Loads 16-bit code at <see cref="TestGuestLayout.RealModeCode"/> and points the vCPU at it (CS=0).</summary>
    public void LoadRealMode(Action<Iced.Intel.Assembler> emit, int vcpuIndex = 0)
    {
        var code = GuestAssembler.Assemble(16, TestGuestLayout.RealModeCode, emit);
        Write(TestGuestLayout.RealModeCode, code);
        var vcpu = _vcpus[vcpuIndex];
        var sregs = vcpu.GetSpecialRegisters();
        sregs.Cs.Base = 0;
        sregs.Cs.Selector = 0;
        sregs.Ds.Base = sregs.Es.Base = sregs.Ss.Base = sregs.Fs.Base = sregs.Gs.Base = 0;
        sregs.Ds.Selector = sregs.Es.Selector = sregs.Ss.Selector = sregs.Fs.Selector = sregs.Gs.Selector = 0;
        vcpu.SetSpecialRegisters(sregs);
        vcpu.SetRegisters(new Registers { Rip = TestGuestLayout.RealModeCode, Rsp = TestGuestLayout.StackTop, Rflags = 0x2 });
    }

    /// <summary>Loads 32-bit code at <see cref="TestGuestLayout.Code"/> in flat protected mode (no paging).</summary>
    public void LoadProtected32(Action<Iced.Intel.Assembler> emit, int vcpuIndex = 0) => LoadFlat(emit, vcpuIndex, longMode: false);

    /// <summary>
    /// Loads 64-bit code at <see cref="TestGuestLayout.Code"/> with identity-mapped 2 MiB pages over the
    /// first 4 GiB, and enters long mode directly.
    /// </summary>
    public void LoadLong64(Action<Iced.Intel.Assembler> emit, int vcpuIndex = 0) => LoadFlat(emit, vcpuIndex, longMode: true);

    private void LoadFlat(Action<Iced.Intel.Assembler> emit, int vcpuIndex, bool longMode)
    {
        WriteGdt();
        if (longMode)
            WriteIdentityPageTables();
        Write(TestGuestLayout.Code, GuestAssembler.Assemble(longMode ? 64 : 32, TestGuestLayout.Code, emit));
        var vcpu = _vcpus[vcpuIndex];
        var sregs = vcpu.GetSpecialRegisters();
        sregs.Gdt.Base = TestGuestLayout.Gdt;
        sregs.Gdt.Limit = 8 * 4 - 1;
        sregs.Idt.Base = TestGuestLayout.Idt;
        sregs.Idt.Limit = (ushort)(256 * (longMode ? 16 : 8) - 1);
        sregs.Cs = FlatSegment(longMode ? TestGuestLayout.Code64Selector : TestGuestLayout.Code32Selector, code: true, longMode);
        sregs.Ds = sregs.Es = sregs.Fs = sregs.Gs = sregs.Ss = FlatSegment(TestGuestLayout.DataSelector, code: false, longMode: false);
        sregs.Cr0 = Cr0ProtectionEnable | Cr0ExtensionType;
        if (longMode)
        {
            sregs.Cr3 = TestGuestLayout.Pml4;
            sregs.Cr4 = Cr4Pae;
            sregs.Cr0 |= Cr0Paging;
            sregs.Efer = EferLongModeEnable | EferLongModeActive;
        }
        vcpu.SetSpecialRegisters(sregs);
        vcpu.SetRegisters(new Registers { Rip = TestGuestLayout.Code, Rsp = TestGuestLayout.LongStackTop, Rflags = 0x2 });
    }

    private const ulong Cr0ProtectionEnable = 1;
    private const ulong Cr0ExtensionType = 1 << 4;
    private const ulong Cr0Paging = 1UL << 31;
    private const ulong Cr4Pae = 1 << 5;
    private const ulong EferLongModeEnable = 1 << 8;
    private const ulong EferLongModeActive = 1 << 10;
    private const ulong PagePresent = 1, PageWritable = 2, PageLarge = 0x80;

    private static Segment FlatSegment(ushort selector, bool code, bool longMode) => new()
    {
        Base = 0,
        Limit = 0xFFFF_FFFF,
        Selector = selector,
        Type = code ? (byte)0xB : (byte)0x3,
        Present = 1,
        Dpl = 0,
        Db = longMode ? (byte)0 : (byte)1,
        S = 1,
        L = longMode ? (byte)1 : (byte)0,
        G = 1,
    };

    private void WriteGdt()
    {
        WriteUInt64(TestGuestLayout.Gdt + 0x00, 0);
        WriteUInt64(TestGuestLayout.Gdt + 0x08, 0x00AF_9A00_0000_FFFF); // 64-bit code
        WriteUInt64(TestGuestLayout.Gdt + 0x10, 0x00CF_9200_0000_FFFF); // data
        WriteUInt64(TestGuestLayout.Gdt + 0x18, 0x00CF_9A00_0000_FFFF); // 32-bit code
    }

    /// <summary>Identity-maps the first 4 GiB (RAM, test MMIO, IOAPIC and LAPIC pages) with 2 MiB pages.</summary>
    private void WriteIdentityPageTables()
    {
        WriteUInt64(TestGuestLayout.Pml4, TestGuestLayout.Pdpt | PagePresent | PageWritable);
        for (ulong gib = 0; gib < 4; gib++)
        {
            ulong directory = TestGuestLayout.PageDirectory + gib * 0x1000;
            WriteUInt64(TestGuestLayout.Pdpt + gib * 8, directory | PagePresent | PageWritable);
            for (ulong i = 0; i < 512; i++)
                WriteUInt64(directory + i * 8, (gib << 30) | (i << 21) | PagePresent | PageWritable | PageLarge);
        }
    }

    /// <summary>
    /// Maps the 2 MiB virtual page at <paramref name="virtualAddress"/> (in the fifth GiB, 0x1_0000_0000–0x1_3FFF_FFFF,
    /// which is otherwise unmapped) to <paramref name="physicalAddress"/>, through the spare page directory.
    /// </summary>
    public void MapLarge2MiB(ulong virtualAddress, ulong physicalAddress)
    {
        const ulong fifthGiB = 0x1_0000_0000;
        if (virtualAddress < fifthGiB || virtualAddress >= fifthGiB + 0x4000_0000 || (virtualAddress & 0x1F_FFFF) != 0 || (physicalAddress & 0x1F_FFFF) != 0)
            throw new ArgumentOutOfRangeException(nameof(virtualAddress), "a 2 MiB-aligned page in the fifth GiB");
        WriteUInt64(TestGuestLayout.Pdpt + 4 * 8, TestGuestLayout.SparePageDirectory | PagePresent | PageWritable);
        ulong index = (virtualAddress - fifthGiB) >> 21;
        WriteUInt64(TestGuestLayout.SparePageDirectory + index * 8, physicalAddress | PagePresent | PageWritable | PageLarge);
    }

    /// <summary>Assembles code for <paramref name="bitness"/> at <paramref name="address"/> (handlers, second entry points).</summary>
    public void WriteCode(int bitness, ulong address, Action<Iced.Intel.Assembler> emit) =>
        Write(address, GuestAssembler.Assemble(bitness, address, emit));

    /// <summary>Points real-mode IVT entry <paramref name="vector"/> at <paramref name="handler"/> (segment 0).</summary>
    public void SetRealModeVector(int vector, ushort handler)
    {
        Span<byte> entry = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(entry, handler);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], 0);
        Write((ulong)vector * 4, entry);
    }

    /// <summary>Writes a 64-bit interrupt gate for <paramref name="vector"/> pointing at <paramref name="handler"/>.</summary>
    public void SetLongModeGate(int vector, ulong handler)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)TestGuestLayout.Code64Selector << 16) | (0x8EUL << 40) | ((handler >> 16 & 0xFFFF) << 48);
        ulong high = handler >> 32;
        WriteUInt64(TestGuestLayout.Idt + (ulong)vector * 16, low);
        WriteUInt64(TestGuestLayout.Idt + (ulong)vector * 16 + 8, high);
    }

    /// <summary>
    /// Runs vCPU <paramref name="vcpuIndex"/> and hands each exit to <paramref name="onExit"/> until it returns
    /// false; throws <see cref="TimeoutException"/> if that takes longer than <paramref name="timeout"/>. EINTR exits
    /// (KVM_EXIT_INTR) are not handed on.
    /// </summary>
    public void Run(ExitHandler onExit, TimeSpan? timeout = null, int vcpuIndex = 0)
    {
        var vcpu = _vcpus[vcpuIndex];
        int expired = 0;
        using var watchdog = new Timer(_ =>
        {
            Volatile.Write(ref expired, 1);
            vcpu.Kick();
        }, null, timeout ?? TimeSpan.FromSeconds(120), Timeout.InfiniteTimeSpan);
        while (true)
        {
            var exit = vcpu.Run();
            if (exit.Reason == VcpuExitReason.Interrupted)
            {
                vcpu.ImmediateExit = false;
                if (Volatile.Read(ref expired) != 0)
                    throw new TimeoutException($"test guest did not finish within {timeout ?? TimeSpan.FromSeconds(120)} (RIP 0x{vcpu.GetRegisters().Rip:x})");
                // Any signal to this thread ends KVM_RUN with EINTR, the runtime's own (a GC suspending threads)
                // included: not an exit of the guest's, so it goes back in, as Ember's exit loop does.
                continue;
            }
            if (!onExit(vcpu, exit))
                return;
        }
    }

    public void Dispose()
    {
        foreach (var vcpu in _vcpus)
            vcpu.Dispose();
        Vm.Dispose();
        Kvm.Dispose();
        Memory.Dispose();
    }
}
