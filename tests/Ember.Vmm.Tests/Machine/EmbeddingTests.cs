using System.Text;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Machine;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Machine;

/// <summary>Ember as a library: machines started with the async API, their consoles as streams, several per process, and nothing left behind.</summary>
[Trait("Requires", "kvm")]
public sealed class EmbeddingTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);
    private const ushort Com1 = 0x3F8;

    private static MachineConfig Config(string kernel) => new()
    {
        KernelPath = kernel,
        MemorySize = 32UL << 20,
        DebugExit = true,
        Console = ConsoleKind.None,
    };

    /// <summary>Echoes what arrives on COM1 until a newline, then exits with 0x33.</summary>
    private static void EchoGuest(Assembler a)
    {
        var poll = a.CreateLabel();
        a.Label(ref poll);
        a.mov(dx, (ushort)(Com1 + 5));
        a.@in(al, dx);
        a.test(al, 1);
        a.jz(poll);
        a.mov(dx, Com1);
        a.@in(al, dx);
        a.@out(dx, al);
        a.cmp(al, (byte)'\n');
        a.jne(poll);
        GuestCode.Exit32(a, 0x33);
    }

    private static async Task<string> ReadToEndAsync(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync(TestContext.Current.CancellationToken).WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task TheConsoleStreamCarriesBytesBothWays()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = MultibootImage.WriteTemporary(EchoGuest);
        try
        {
            await using var vm = await MicroVm.StartAsync(Config(kernel), cancellationToken: TestContext.Current.CancellationToken);
            Assert.NotNull(vm.Console);
            await vm.Console.WriteAsync("ping over the console\n"u8.ToArray(), TestContext.Current.CancellationToken);
            Assert.Equal("ping over the console\n", await ReadToEndAsync(vm.Console));
            var exit = await vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
            Assert.Equal((0x33 << 1) | 1, exit.ExitCode);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public async Task TwoMachinesRunSideBySideInOneProcess()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string first = MultibootImage.WriteTemporary(a => { GuestCode.Print32(a, "first machine\n"); GuestCode.Exit32(a, 1); });
        string second = MultibootImage.WriteTemporary(a => { GuestCode.Print32(a, "second machine\n"); GuestCode.Exit32(a, 2); });
        try
        {
            await using var a = await MicroVm.StartAsync(Config(first), cancellationToken: TestContext.Current.CancellationToken);
            await using var b = await MicroVm.StartAsync(Config(second), cancellationToken: TestContext.Current.CancellationToken);
            var outputs = await Task.WhenAll(ReadToEndAsync(a.Console!), ReadToEndAsync(b.Console!));
            Assert.Equal(["first machine\n", "second machine\n"], outputs);
            Assert.Equal((1 << 1) | 1, (await a.Exited).ExitCode);
            Assert.Equal((2 << 1) | 1, (await b.Exited).ExitCode);
        }
        finally
        {
            File.Delete(first);
            File.Delete(second);
        }
    }
}
