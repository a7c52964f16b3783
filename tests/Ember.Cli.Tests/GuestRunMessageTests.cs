using Ember.Kvm;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Cli.Tests;

/// <summary>How a real guest run ends, as the user sees it: one line for every ending that is not a plain exit, and the guest's status kept.</summary>
[Trait("Requires", "kvm")]
public sealed class GuestRunMessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ember-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string WithGuest(Action<Iced.Intel.Assembler> emit, string name) => MultibootImage.WriteTemporary(emit, name);

    [Fact]
    public void ATripleFaultIsOneLineAndStatusFourWithoutVerbose()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        // An IDT with no entries: the #UD becomes #GP, then #DF, then a triple fault.
        string kernel = WithGuest(a =>
        {
            a.sub(esp, 8);
            a.mov(__word_ptr[esp], 0);
            a.mov(__dword_ptr[esp + 2], 0);
            a.lidt(__fword_ptr[esp]);
            a.ud2();
        }, "triple");
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--memory", "32M", "--console", "none");
            Assert.Equal(4, result.ExitCode);
            string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("ember: the guest reset: ", line);
            Assert.Contains("triple fault", line);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void ConsoleOutputToAFullDeviceLosesTheOutputNotTheGuestsStatus()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = WithGuest(a =>
        {
            GuestCode.Print32(a, "hello from the guest\n");
            GuestCode.Exit32(a, 5);
        }, "print");
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--memory", "32M", "--debug-exit", "--console", "file:/dev/full");
            Assert.Equal((5 << 1) | 1, result.ExitCode);
            string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("ember: warning: the console output failed", line);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void ARefusedKernelLeavesNoConsoleFileBehind()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string console = Path.Combine(_dir, "console.log");
        var result = EmberProcess.Run("run", "--kernel", "/etc/hostname", "--console", $"file:{console}");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("ember: error: ", Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.False(File.Exists(console), "the refused run left its console file behind");
    }

    [Fact]
    public void WithStdinClosedTheGuestGetsNoInputAndRunsToItsOwnEnd()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        // Polls COM1 20000 times: exits 1 if any byte arrived, 2 if none did.
        string kernel = WithGuest(a =>
        {
            var poll = a.CreateLabel();
            var gotByte = a.CreateLabel();
            a.mov(ecx, 20000);
            a.Label(ref poll);
            a.mov(dx, 0x3FD);
            a.@in(al, dx);
            a.test(al, 1);
            a.jnz(gotByte);
            a.loop(poll);
            GuestCode.Exit32(a, 2);
            a.Label(ref gotByte);
            GuestCode.Exit32(a, 1);
        }, "stdin");
        try
        {
            var result = EmberProcess.RunRedirected("<&-", "run", "--kernel", kernel, "--memory", "32M", "--debug-exit", "--console", "stdio");
            Assert.Equal((2 << 1) | 1, result.ExitCode);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void AJumpIntoUnmappedMemoryIsNotBlamedOnTheHost()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = WithGuest(a =>
        {
            a.mov(eax, 0xE000_0000u);  // nothing there: not RAM, no device
            a.jmp(eax);
        }, "unmapped");
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--memory", "32M", "--console", "none");
            Assert.NotEqual(0, result.ExitCode);
            Assert.DoesNotContain("kvm_pvm", result.Stderr);
            Assert.DoesNotContain("runs natively", result.Stderr);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void WithStdoutClosedTheGuestsOutputGoesNowhereQuietlyAndItsStatusStands()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = WithGuest(a =>
        {
            GuestCode.Print32(a, "a line of guest output that has nowhere to go\n");
            GuestCode.Exit32(a, 3);
        }, "stdout");
        try
        {
            var result = EmberProcess.RunRedirected(">&-", "run", "--kernel", kernel, "--memory", "32M", "--debug-exit");
            Assert.Equal((3 << 1) | 1, result.ExitCode);
            // Nothing, or one line saying the output was lost: never a line per byte, never an error.
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length <= 1, result.Stderr);
            Assert.All(lines, l => Assert.StartsWith("ember: warning: the console output failed", l));
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void ALinuxKernelWithTooLittleMemorySaysToRaiseMemory()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string? kernel = Directory.Exists("/boot") ? Directory.GetFiles("/boot", "vmlinuz-*").OrderDescending(StringComparer.Ordinal).FirstOrDefault() : null;
        Assert.SkipWhen(kernel is null, "no kernel in /boot (test.sh installs linux-image-cloud-amd64)");
        var result = EmberProcess.Run("run", "--kernel", kernel!, "--memory", "16M", "--console", "none");
        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("raise --memory", line);
        Assert.DoesNotContain("loadable window", line);
    }
}
