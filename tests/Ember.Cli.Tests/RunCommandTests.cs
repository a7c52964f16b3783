using Ember.Kvm;
using Ember.TestGuests;

namespace Ember.Cli.Tests;

public sealed class RunCommandTests
{
    /// <summary>Bad user input: exit status 2 and exactly one "ember: error:" line, never a stack trace.</summary>
    [Theory]
    [InlineData("--kernel", "/nonexistent/vmlinuz")]
    [InlineData("--memory", "12X")]
    [InlineData("--memory", "1")]
    [InlineData("--cpus", "0")]
    [InlineData("--irqchip", "bogus")]
    [InlineData("--console", "tty")]
    [InlineData("--cpuid-mask", "nosuchfeature")]
    [InlineData("--console-rate-limit", "size=4K")]
    [InlineData("--console-rate-limit", "size=4K,refill=1s")]
    [InlineData("--console-rate-limit", "size=0,refill=100")]
    [InlineData("--console-rate-limit", "size=4X,refill=100")]
    [InlineData("--console-rate-limit", "size=4K,refill=100,size=8K")]
    [InlineData("--console-rate-limit", "rate=5")]
    // Valid, but the test's --console none leaves nothing to limit.
    [InlineData("--console-rate-limit", "size=4K,refill=100")]
    public void BadInputGivesOneClearLineAndStatusTwo(string option, string value)
    {
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));
        try
        {
            var args = new List<string> { "run", "--console", "none" };
            if (option != "--kernel")
                args.AddRange(["--kernel", kernel]);
            if (option == "--console")
                args.RemoveRange(1, 2);
            args.AddRange([option, value]);
            var result = EmberProcess.Run([.. args]);
            Assert.Equal(2, result.ExitCode);
            var errorLines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("ember: warning:")).ToList();
            var line = Assert.Single(errorLines);
            Assert.StartsWith("ember: error: ", line);
            Assert.DoesNotContain("   at ", result.Stderr);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>
    /// The console's token bucket: what the guest writes beyond size plus burst never reaches stdout, the guest is not
    /// held up (it still reaches its debug exit), and Ember says how much it dropped. The refill is a day, so the few
    /// seconds of the run add no byte.
    /// </summary>
    [Theory]
    [Trait("Requires", "kvm")]
    [InlineData("size=1000,refill=86400000", 1000)]
    [InlineData("size=1K,refill=86400000,burst=500", 1524)]
    public void ConsoleOutputBeyondTheRateLimitIsDroppedAndCounted(string limit, int allowed)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        const int Written = 5000;
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var next = a.CreateLabel();
            a.mov(Iced.Intel.AssemblerRegisters.ecx, Written);
            a.mov(Iced.Intel.AssemblerRegisters.dx, (ushort)0x3F8);
            a.mov(Iced.Intel.AssemblerRegisters.al, (byte)'x');
            a.Label(ref next);
            a.@out(Iced.Intel.AssemblerRegisters.dx, Iced.Intel.AssemblerRegisters.al);
            a.dec(Iced.Intel.AssemblerRegisters.ecx);
            a.jnz(next);
            GuestCode.Exit32(a, 0x11);
        });
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--debug-exit", "--memory", "32M", "--console-rate-limit", limit);
            Assert.Equal((0x11 << 1) | 1, result.ExitCode);
            Assert.Equal(new string('x', allowed), result.Stdout);
            Assert.Contains($"ember: {Written - allowed} bytes of guest console output went over --console-rate-limit and were dropped", result.Stderr);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void TheDebugExitValueBecomesTheProcessStatusAndTheConsoleReachesStdout()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            GuestCode.Print32(a, "EMBER-CLI-MARKER\n");
            GuestCode.Exit32(a, 0x21);
        });
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--debug-exit", "--memory", "32M");
            Assert.Equal((0x21 << 1) | 1, result.ExitCode);
            Assert.Contains("EMBER-CLI-MARKER", result.Stdout);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void TheConsoleCanGoToAFile()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            GuestCode.Print32(a, "TO-A-FILE\n");
            GuestCode.Exit32(a, 0);
        });
        string log = Path.GetTempFileName();
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--debug-exit", "--console", $"file:{log}");
            Assert.Equal(1, result.ExitCode);
            Assert.Equal("TO-A-FILE\n", File.ReadAllText(log));
            Assert.DoesNotContain("TO-A-FILE", result.Stdout);
        }
        finally
        {
            File.Delete(kernel);
            File.Delete(log);
        }
    }

    [Fact]
    public void VersionReportsTheBuild()
    {
        var result = EmberProcess.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout.Trim());
    }
}
