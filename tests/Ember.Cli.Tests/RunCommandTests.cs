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
