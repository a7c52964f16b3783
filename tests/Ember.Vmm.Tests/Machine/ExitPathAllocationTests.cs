using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Machine;

/// <summary>
/// The exit path allocates nothing: a guest that makes 20,000 more PIO and MMIO exits than another
/// allocates no more managed memory on its vCPU thread.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class ExitPathAllocationTests
{
    private static long AllocatedDuringRun(int iterations)
    {
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, iterations);
            a.mov(ebx, (uint)Layout.TestDeviceMmio);
            a.mov(dx, (ushort)Layout.TestDevicePort);
            a.Label(ref loop);
            a.@out(dx, eax);                  // PIO exit to the pc-testdev scratch register
            a.mov(__dword_ptr[ebx], ecx);     // MMIO exit to the test buffer
            a.dec(ecx);
            a.jnz(loop);
            GuestCode.Exit32(a, 0);
        });
        try
        {
            var config = new MachineConfig { KernelPath = kernel, MemorySize = 32UL << 20, DebugExit = true, TestDevices = true, Console = ConsoleKind.None };
            using var vm = MicroVm.Create(config, new CapturedConsole());
            var exit = vm.Run();
            Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
            return vm.VcpuThreadAllocatedBytes;
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void TenThousandMoreIterationsAllocateNoMore()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        // Warm up with a long run: JIT, thread creation, first-use statics and tiered re-compilation of the exit
        // path, whose one-off work (about 1.4 KB, seen once in six runs) can land on the vCPU thread.
        AllocatedDuringRun(10_100);
        long small = AllocatedDuringRun(100);
        long large = AllocatedDuringRun(10_100);
        // 20,000 extra exits: the smallest object per exit (24 bytes) would be 480 KB, one per hundred exits 4.8 KB.
        Assert.True(large - small < 4096, $"the exit path allocated: {small} bytes for 200 exits, {large} bytes for 20,200 exits");
    }
}
