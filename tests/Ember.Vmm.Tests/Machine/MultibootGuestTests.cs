using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Boot;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Machine;

/// <summary>Whole machines booting assembled multiboot guests on the real /dev/kvm.</summary>
[Trait("Requires", "kvm")]
public sealed class MultibootGuestTests
{
    private static MachineExit Boot(Action<Assembler> guest, out string console, int cpus = 1, bool bootTimer = false, Action<MicroVm>? inspect = null, Action<MicroVm>? beforeRun = null, string? initrd = null, string commandLine = "", bool testDevices = true, uint loadAddress = MultibootImage.LoadAddress)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(guest, loadAddress: loadAddress);
        try
        {
            var captured = new CapturedConsole();
            var config = new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = 64UL << 20,
                VcpuCount = cpus,
                DebugExit = true,
                TestDevices = testDevices,
                BootTimer = bootTimer,
                Console = ConsoleKind.None,
                InitrdPath = initrd,
                CommandLine = commandLine,
            };
            using var vm = MicroVm.Create(config, captured);
            beforeRun?.Invoke(vm);
            using var watchdog = new Timer(_ => vm.RequestStop("test watchdog: the guest took too long"), null, TimeSpan.FromSeconds(180), Timeout.InfiniteTimeSpan);
            var exit = vm.Run();
            inspect?.Invoke(vm);
            console = captured.Text;
            return exit;
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void AMultibootGuestPrintsOnTheUartAndItsDebugExitValueBecomesTheExitCode()
    {
        var exit = Boot(a =>
        {
            GuestCode.Print32(a, "hello from multiboot\n");
            GuestCode.Exit32(a, 0x21);
        }, out string console);
        Assert.Equal("hello from multiboot\n", console);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal((0x21 << 1) | 1, exit.ExitCode);
    }

    [Fact]
    public void TheGuestStartsWithTheMultibootMagicAndInfoPointer()
    {
        uint eaxSeen = 0, ebxSeen = 0, memUpper = 0;
        const uint results = 0x5000;
        var exit = Boot(a =>
        {
            a.mov(__dword_ptr[results], eax);
            a.mov(__dword_ptr[results + 4], ebx);
            a.mov(ecx, __dword_ptr[ebx + 8]);  // mem_upper (KiB above 1 MiB)
            a.mov(__dword_ptr[results + 8], ecx);
            GuestCode.Exit32(a, 0);
        }, out _, inspect: vm =>
        {
            eaxSeen = vm.Memory.ReadObject<uint>(new(results));
            ebxSeen = vm.Memory.ReadObject<uint>(new(results + 4));
            memUpper = vm.Memory.ReadObject<uint>(new(results + 8));
        });
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(0x2BAD_B002u, eaxSeen);
        Assert.Equal((uint)Layout.MultibootInfo, ebxSeen);
        Assert.Equal((64u << 10) - 1024, memUpper);
    }

    /// <summary>Selects fw_cfg item <paramref name="key"/> and reads <paramref name="length"/> bytes of it to <paramref name="destination"/>.</summary>
    private static void ReadFwCfgItem(Assembler a, ushort key, uint destination, uint length)
    {
        a.mov(dx, (ushort)Layout.FwCfgPort);
        a.mov(ax, key);
        a.@out(dx, ax);
        a.inc(dx);
        a.mov(edi, destination);
        a.mov(ecx, length);
        a.rep.insb();
    }

    [Fact]
    public void AKernelLinkedAt0x8000RunsAsUnderQemu()
    {
        var exit = Boot(a => GuestCode.Exit32(a, 0x21), out _, loadAddress: 0x8000);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(0x21, exit.DebugExitValue);
    }

    [Fact]
    public void WithoutTestDevicesTheirPortsAndMmioAreUnclaimed()
    {
        const uint results = 0x5000;
        long unclaimed = 0;
        var exit = Boot(a =>
        {
            a.mov(dx, (ushort)Layout.TestDevicePort);
            a.mov(eax, 0xDEADBEEF);
            a.@out(dx, eax);
            a.@in(eax, dx);
            a.mov(__dword_ptr[results], eax);
            a.mov(ebx, (uint)Layout.TestDeviceMmio);
            a.mov(__dword_ptr[ebx + 0x1230], 0xA5A5_5A5A);
            a.mov(eax, __dword_ptr[ebx + 0x1230]);
            a.mov(__dword_ptr[results + 4], eax);
            GuestCode.Exit32(a, 0);
        }, out _, testDevices: false, inspect: vm =>
        {
            unclaimed = vm.UnclaimedAccesses;
            // Nothing answers: reads float high, as on a PC bus with nothing there.
            Assert.Equal(0xFFFF_FFFFu, vm.Memory.ReadObject<uint>(new(results)));
            Assert.Equal(0xFFFF_FFFFu, vm.Memory.ReadObject<uint>(new(results + 4)));
        });
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(4, unclaimed);
    }

    [Fact]
    public void TheTestDeviceScratchRegisterAndFwCfgAnswerAsQemuDoes()
    {
        const uint results = 0x5000;
        var exit = Boot(a =>
        {
            // pc-testdev scratch register: 32-bit write, read back.
            a.mov(dx, (ushort)Layout.TestDevicePort);
            a.mov(eax, 0xDEADBEEF);
            a.@out(dx, eax);
            a.@in(eax, dx);
            a.mov(__dword_ptr[results], eax);
            // rep outsd / insd through the same register: the last value written is read back every time.
            a.mov(__dword_ptr[results + 0x100], 0x11111111);
            a.mov(__dword_ptr[results + 0x104], 0x22222222);
            a.mov(esi, results + 0x100);
            a.mov(ecx, 2);
            a.cld();
            a.rep.outsd();
            a.mov(edi, results + 0x108);
            a.mov(ecx, 2);
            a.rep.insd();
            // fw_cfg: signature, CPU count, RAM size.
            ReadFwCfgItem(a, 0x0000, results + 4, 4);
            ReadFwCfgItem(a, 0x0005, results + 8, 2);
            ReadFwCfgItem(a, 0x0003, results + 12, 8);
            // The 64 KiB test MMIO buffer is MMIO, not RAM: a write reads back.
            a.mov(ebx, (uint)Layout.TestDeviceMmio);
            a.mov(__dword_ptr[ebx + 0x1230], 0xA5A5_5A5A);
            a.mov(eax, __dword_ptr[ebx + 0x1230]);
            a.mov(__dword_ptr[results + 20], eax);
            GuestCode.Exit32(a, 0);
        }, out _, cpus: 2, inspect: vm =>
        {
            var m = vm.Memory;
            Assert.Equal(0xDEADBEEFu, m.ReadObject<uint>(new(results)));
            Assert.Equal(0x22222222u, m.ReadObject<uint>(new(results + 0x108)));
            Assert.Equal(0x22222222u, m.ReadObject<uint>(new(results + 0x10C)));
            Assert.Equal("QEMU"u8.ToArray(), m.GetSpan(new(results + 4), 4).ToArray());
            Assert.Equal((ushort)2, m.ReadObject<ushort>(new(results + 8)));
            Assert.Equal(64UL << 20, m.ReadObject<ulong>(new(results + 12)));
            Assert.Equal(0xA5A5_5A5Au, m.ReadObject<uint>(new(results + 20)));
        });
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
    }

    [Fact]
    public void TheBootTimerReportsWhenTheGuestWritesTheMagicByte()
    {
        TimeSpan? reported = null;
        var exit = Boot(a =>
        {
            a.mov(ebx, (uint)Layout.BootTimer);
            a.mov(__byte_ptr[ebx], 123);
            GuestCode.Exit32(a, 0);
        }, out _, bootTimer: true, beforeRun: vm => vm.BootTimeReported += t => reported = t);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.NotNull(reported);
        Assert.True(reported > TimeSpan.Zero);
    }

    [Fact]
    public void TwoVcpusTheBootProcessorWakesTheOtherWithInitAndSipiAndBothReport()
    {
        const uint counter = 0x5000, trampoline = 0x8000;
        // The AP starts in real mode at 0000:8000 (SIPI vector 8): says "AP", counts itself, halts.
        byte[] apCode = GuestAssembler.Assemble(16, trampoline, ap =>
        {
            var halt = ap.CreateLabel();
            ap.mov(dx, GuestCode.Com1);
            foreach (char c in "AP\n")
            {
                ap.mov(al, (byte)c);
                ap.@out(dx, al);
            }
            ap.xor(ax, ax);
            ap.mov(ds, ax);
            ap.@lock.inc(__dword_ptr[(ushort)counter]);
            ap.Label(ref halt);
            ap.cli();
            ap.hlt();
            ap.jmp(halt);
        });
        var exit = Boot(a =>
        {
            var wait = a.CreateLabel();
            a.mov(__dword_ptr[counter], 0);
            // Store the trampoline at 0x8000 four bytes at a time.
            var padded = new byte[(apCode.Length + 3) & ~3];
            apCode.CopyTo(padded, 0);
            for (int i = 0; i < padded.Length; i += 4)
                a.mov(__dword_ptr[trampoline + (uint)i], BitConverter.ToUInt32(padded, i));
            GuestCode.Print32(a, "BSP\n");
            // INIT, then STARTUP, to all excluding self (ICR, Intel SDM vol. 3 §11.6.1).
            a.mov(ebx, 0xFEE0_0300);
            a.mov(__dword_ptr[ebx], 0x000C_4500);
            a.mov(__dword_ptr[ebx], 0x000C_4600 | (trampoline >> 12));
            a.Label(ref wait);
            a.pause();
            a.cmp(__dword_ptr[counter], 1);
            a.jb(wait);
            GuestCode.Print32(a, "SMP-OK\n");
            GuestCode.Exit32(a, 0x2);
        }, out string console, cpus: 2);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(5, exit.ExitCode);
        Assert.StartsWith("BSP\n", console);
        Assert.Contains("AP\n", console);
        Assert.EndsWith("SMP-OK\n", console);
    }

    [Fact]
    public void WritingSleepTypeFiveWithSleepEnableToPm1ControlPowersOff()
    {
        var exit = Boot(a =>
        {
            a.mov(dx, (ushort)Layout.Pm1ControlBlock);
            a.mov(ax, (ushort)((Ember.Devices.Legacy.AcpiPowerManagement.S5SleepType << 10) | (1 << 13)));
            a.@out(dx, ax);
            GuestCode.Exit32(a, 0x7F);  // not reached
        }, out _);
        Assert.Equal(MachineStopReason.PowerOff, exit.Reason);
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact]
    public void TheI8042ResetCommandStopsTheMachineAsAReset()
    {
        var exit = Boot(a =>
        {
            a.mov(al, 0xFE);
            a.@out(0x64, al);
            GuestCode.Exit32(a, 0x7F);
        }, out _);
        Assert.Equal(MachineStopReason.Reset, exit.Reason);
        Assert.Equal(MachineExit.ExitReset, exit.ExitCode);
    }

    [Fact]
    public void UnclaimedPortsReadAsAllOnesAndTheGuestKeepsRunning()
    {
        const uint results = 0x5000;
        var exit = Boot(a =>
        {
            a.mov(dx, 0x2F0);
            a.@in(eax, dx);
            a.mov(__dword_ptr[results], eax);
            a.mov(al, 0x55);
            a.@out(dx, al);
            GuestCode.Exit32(a, 0x3);
        }, out _, inspect: vm =>
        {
            Assert.Equal(0xFFFF_FFFFu, vm.Memory.ReadObject<uint>(new(results)));
            Assert.Equal(2, vm.UnclaimedAccesses);
        });
        Assert.Equal(7, exit.ExitCode);
    }

    [Fact]
    public void TheInitrdIsMultibootModuleZeroAndTheCommandLineIsPassed()
    {
        string module = Path.GetTempFileName();
        File.WriteAllText(module, "MODULE-CONTENT");
        const uint results = 0x5000;
        try
        {
            var exit = Boot(a =>
            {
                a.mov(eax, __dword_ptr[ebx]);        // flags
                a.mov(__dword_ptr[results], eax);
                a.mov(eax, __dword_ptr[ebx + 20]);   // mods_count
                a.mov(__dword_ptr[results + 4], eax);
                a.mov(esi, __dword_ptr[ebx + 24]);   // mods_addr
                a.mov(eax, __dword_ptr[esi]);        // mod_start
                a.mov(__dword_ptr[results + 8], eax);
                a.mov(eax, __dword_ptr[esi + 4]);    // mod_end
                a.mov(__dword_ptr[results + 12], eax);
                a.mov(eax, __dword_ptr[ebx + 16]);   // cmdline
                a.mov(__dword_ptr[results + 16], eax);
                GuestCode.Exit32(a, 0);
            }, out _, initrd: module, commandLine: "hello=world", inspect: vm =>
            {
                var m = vm.Memory;
                uint flags = m.ReadObject<uint>(new(results));
                Assert.True((flags & (1u << 3)) != 0, "MULTIBOOT_INFO_MODS");
                Assert.True((flags & (1u << 2)) != 0, "MULTIBOOT_INFO_CMDLINE");
                Assert.Equal(1u, m.ReadObject<uint>(new(results + 4)));
                uint start = m.ReadObject<uint>(new(results + 8)), end = m.ReadObject<uint>(new(results + 12));
                Assert.Equal(14u, end - start);
                Assert.Equal("MODULE-CONTENT"u8.ToArray(), m.GetSpan(new(start), 14).ToArray());
                uint cmdline = m.ReadObject<uint>(new(results + 16));
                Assert.Equal("hello=world\0"u8.ToArray(), m.GetSpan(new(cmdline), 12).ToArray());
            });
            Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        }
        finally
        {
            File.Delete(module);
        }
    }

    [Fact]
    public void FourByteWritesToTheFlushPagePortNeverReachUserSpace()
    {
        var exit = Boot(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 1000);
            a.mov(dx, (ushort)Layout.TestDeviceFlushPagePort);
            a.Label(ref loop);
            a.@out(dx, eax);
            a.dec(ecx);
            a.jnz(loop);
            a.@out(dx, al);   // a 1-byte write is not covered by the ioeventfd and exits to the device
            GuestCode.Exit32(a, 0);
        }, out _, inspect: vm => Assert.Equal(MultibootFirmware.SetupPortWrites + 2, vm.PioExits));  // the firmware's, the 1-byte write and the debug exit
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
    }
}
