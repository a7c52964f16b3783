using Ember.Kvm;
using Ember.Memory;
using Ember.TestGuests;
using Ember.Vmm.Cpu.Paging;
using Ember.Vmm.Debugging;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Cpu.Paging;
using Ember.Vmm.Tests.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// <c>vm.VcpuMemory[i]</c> on a real machine: a multiboot guest turns on 4-level paging itself (from 32-bit protected
/// mode into compatibility mode, as a kernel does), over tables the host wrote before the start, with pages at
/// 0xC000_xxxx mapped far apart in RAM; it writes markers through them and either waits for a command word or halts.
/// The host reads, translates and writes at those virtual addresses before the start, while it runs, while it is
/// paused and after it stopped.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VcpuMemoryViewTests
{
    private const uint Tables = 0x80_0000, Ready = 0xA0_0000;
    private const uint Pair = 0xC000_2000;          // 0xC0001000 -> 0x903000, 0xC0002000 -> 0x901000
    private const uint ReadOnly = 0xC000_3000;      // supervisor, read-only -> 0x905000
    private const uint Unmapped = 0xC000_4000;
    private const uint Command = 0xC000_5000;       // -> 0x907000
    private const uint BootTimer = 0xC000_0000;     // identity: the boot-timer MMIO page (Layout.BootTimer)
    private const uint Marker = 0x1122_3344, SecondMarker = 0x5566_7788;
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    /// <summary>From multiboot's flat 32-bit protected mode into long mode (compatibility mode, 4-level paging), then the markers.</summary>
    private static void EnterLongModePagingAndWriteMarkers(Assembler a)
    {
        a.mov(eax, cr4);
        a.or(eax, (int)PagingBits.Cr4PhysicalAddressExtension);
        a.mov(cr4, eax);
        a.mov(eax, Tables);
        a.mov(cr3, eax);
        a.mov(ecx, 0xC000_0080);  // IA32_EFER
        a.rdmsr();
        a.or(eax, (1 << 8) | (int)PagingBits.EferNoExecuteEnable);  // LME, NXE
        a.wrmsr();
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)(PagingBits.Cr0Paging | PagingBits.Cr0WriteProtect)));
        a.mov(cr0, eax);
        a.mov(__dword_ptr[Pair - 2], Marker);      // across the two pages
        a.mov(__dword_ptr[Pair + 0x10], SecondMarker);
        a.mov(__dword_ptr[Ready], 1u);
    }

    /// <summary>
    /// Reports "booted" to the boot timer (its event runs on the vCPU thread, in the middle of an MMIO exit), then waits for
    /// the host to write a non-zero command word through the guest's own mapping, and exits with it.
    /// </summary>
    private static void WaitForCommand(Assembler a)
    {
        EnterLongModePagingAndWriteMarkers(a);
        a.mov(__byte_ptr[BootTimer], 123);
        var wait = a.CreateLabel();
        a.Label(ref wait);
        a.pause();
        a.mov(eax, __dword_ptr[Command]);
        a.test(eax, eax);
        a.jz(wait);
        GuestCode.Exit32(a, 0x2a);
    }

    private static void HaltForever(Assembler a)
    {
        EnterLongModePagingAndWriteMarkers(a);
        var halt = a.CreateLabel();
        a.cli();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    }

    private static MicroVm Create(Action<Assembler> guest, IrqchipMode irqchip, out string kernel)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        kernel = MultibootImage.WriteTemporary(guest, "vcpu-memory");
        var vm = MicroVm.Create(new MachineConfig
        {
            KernelPath = kernel,
            MemorySize = 64UL << 20,
            DebugExit = true,
            BootTimer = true,
            Irqchip = irqchip,
            Console = ConsoleKind.None,
        }, new CapturedConsole());
        // The guest's tables, written before it starts: 0-16 MiB identity-mapped (code, the ready flag), and the odd pages.
        var tables = new GuestPageTables(vm.Memory, PagingMode.FourLevel, Tables, 0x10_0000);
        Assert.Equal(Tables, tables.Root);
        for (ulong page = 0; page < 0x100_0000; page += 0x20_0000)
            tables.Map(page, page, 0x20_0000);
        tables.Map(Pair - 0x1000, 0x90_3000, 0x1000);
        tables.Map(Pair, 0x90_1000, 0x1000);
        tables.Map(ReadOnly, 0x90_5000, 0x1000, GuestPageTables.Present);
        tables.Map(Command, 0x90_7000, 0x1000);
        tables.Map(BootTimer, BootTimer, 0x1000);
        return vm;
    }

    private static void WaitForReady(MicroVm vm)
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (vm.Memory.ReadObject<uint>(new GuestAddress(Ready)) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the guest did not turn paging on within {SafetyNet.TotalSeconds} s (state {vm.State})");
            Assert.False(vm.Exited.IsCompleted, $"the guest stopped: {(vm.Exited.IsCompleted ? vm.Exited.Result.ToString() : "")}");
            Thread.Sleep(5);
        }
    }

    private static uint ReadUInt32(VcpuMemoryView view, ulong address)
    {
        var bytes = new byte[4];
        view.ReadVirtual(address, bytes);
        return BitConverter.ToUInt32(bytes);
    }

    [Fact]
    public async Task TheHostReadsTranslatesAndWritesThroughTheGuestsPageTablesInEveryState()
    {
        using var vm = Create(WaitForCommand, IrqchipMode.Split, out string kernel);
        try
        {
            var view = vm.VcpuMemory[0];
            Assert.Equal(0u, view.VcpuId);
            // Not started: paging is off, a linear address is the physical one (the multiboot code at 1 MiB).
            Assert.Equal(PagingMode.Disabled, view.GetPagingState().Mode);
            var code = new byte[16];
            view.ReadVirtual(MultibootImage.CodeAddress, code);
            Assert.Equal(vm.Memory.GetSpan(new GuestAddress(MultibootImage.CodeAddress), 16).ToArray(), code);

            // On the vCPU's own thread (an MMIO exit's event) the view reads at once: the vCPU is out of KVM_RUN right there.
            var fromVcpuThread = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
            vm.BootTimeReported += _ =>
            {
                try
                {
                    fromVcpuThread.TrySetResult(ReadUInt32(view, Pair - 2));
                }
                catch (Exception e)
                {
                    fromVcpuThread.TrySetException(e);
                }
            };
            vm.Start();
            WaitForReady(vm);
            Assert.Equal(Marker, await fromVcpuThread.Task.WaitAsync(SafetyNet, TestContext.Current.CancellationToken));
            // Running: the work runs on the vCPU's thread between two exits.
            Assert.Equal(PagingMode.FourLevel, view.GetPagingState().Mode);
            Assert.Equal(Marker, ReadUInt32(view, Pair - 2));
            Assert.Equal(SecondMarker, ReadUInt32(view, Pair + 0x10));
            Assert.Equal(0x3344u, vm.Memory.ReadObject<ushort>(new GuestAddress(0x90_3FFE)));
            Assert.Equal(0x1122u, vm.Memory.ReadObject<ushort>(new GuestAddress(0x90_1000)));

            var translation = view.TranslateVirtual(Pair + 0x10);
            Assert.True(translation.IsAccessible, translation.ToString());
            Assert.True(translation.AgreesWithKvm, translation.ToString());
            Assert.Equal((0x90_1010UL, 0x1000UL, PagingLevel.Pte), (translation.Translation!.Value.PhysicalAddress, translation.Translation.Value.PageSize, translation.Translation.Value.Leaf!.Value.Level));

            // The read-only supervisor page: a user read and a kernel write are refused, naming the PTE; a debugger may write it.
            var user = view.TranslateVirtual(ReadOnly, PageAccess.UserRead);
            Assert.Equal((PageFaultReason.UserAccessToSupervisor, PagingLevel.Pte), (user.Fault!.Value.Reason, user.Fault.Value.Level!.Value));
            Assert.True(user.AgreesWithKvm);
            var refused = Assert.Throws<VirtualMemoryException>(() => view.WriteVirtual(ReadOnly, [1, 2, 3, 4]));
            Assert.Equal((PageFaultReason.WriteToReadOnly, PagingLevel.Pte), (refused.Fault.Reason, refused.Fault.Level!.Value));
            Assert.Equal(0u, vm.Memory.ReadObject<uint>(new GuestAddress(0x90_5000)));
            view.WriteVirtual(ReadOnly, [1, 2, 3, 4], PageAccess.DebuggerWrite);
            Assert.Equal(0x0403_0201u, vm.Memory.ReadObject<uint>(new GuestAddress(0x90_5000)));

            // A read that runs from the read-only page into the unmapped one gives the first page's bytes and the fault.
            var buffer = new byte[8];
            Assert.False(view.TryReadVirtual(Unmapped - 4, buffer, PageAccess.SupervisorRead, out int read, out var fault));
            Assert.Equal((4, PageFaultReason.NotPresent, PagingLevel.Pte, (ulong)Unmapped), (read, fault.Reason, fault.Level!.Value, fault.LinearAddress));
            var unmapped = view.TranslateVirtual(Unmapped);
            Assert.Null(unmapped.Translation);
            Assert.Null(unmapped.KvmPhysicalAddress);
            Assert.Throws<ArgumentOutOfRangeException>(() => view.ReadVirtual(Pair, new byte[VcpuMemoryView.MaxAccessLength + 1]));

            // Paused: the parked vCPU thread does the work.
            vm.Pause();
            Assert.Equal(Marker, ReadUInt32(view, Pair - 2));
            vm.Resume();

            // The guest sees what the host writes through its mapping, and exits with it.
            view.WriteVirtual(Command, BitConverter.GetBytes(0x2Au));
            Assert.Equal(0x2Au, vm.Memory.ReadObject<uint>(new GuestAddress(0x90_7000)));
            var exit = await vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal(MachineStopReason.DebugExit, exit.Reason);

            // Stopped, vCPU threads gone: read from the caller's thread.
            Assert.Equal(VmState.Stopped, vm.State);
            Assert.Equal(SecondMarker, ReadUInt32(view, Pair + 0x10));
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void AHaltedVcpuIsWokenToReadItsMemoryAndHaltsOnAfterwards(IrqchipMode irqchip)
    {
        using var vm = Create(HaltForever, irqchip, out string kernel);
        try
        {
            vm.Start();
            WaitForReady(vm);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(Marker, ReadUInt32(vm.VcpuMemory[0], Pair - 2));
                Assert.True(vm.VcpuMemory[0].TranslateVirtual(Pair - 2).AgreesWithKvm);
            }
            Assert.Equal(VmState.Running, vm.State);
            Assert.False(vm.Exited.IsCompleted);
            vm.RequestStop("test done");
            Assert.Equal(MachineStopReason.HostRequest, vm.WaitForExit().Reason);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
