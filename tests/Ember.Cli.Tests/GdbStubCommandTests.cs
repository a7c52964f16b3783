using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ember.Kvm;
using Ember.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Cli.Tests;

/// <summary>`ember run --gdb … --gdb-wait` with the real GNU debugger attached to the real ember process.</summary>
[Trait("Requires", "kvm")]
public sealed partial class GdbStubCommandTests
{
    private const string Gdb = "/usr/bin/gdb";
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);

    [GeneratedRegex(@"target remote ([^']+)'")]
    private static partial Regex TargetInNote();

    private static void Guest(Assembler a)
    {
        a.mov(eax, 0x1234_5678);
        GuestCode.Exit32(a, 0x2a);
    }

    [Fact]
    public async Task GdbWaitHoldsTheGuestUntilGdbContinuesAndEmberExitsWithTheGuestsStatus()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        // Not a skip: scripts/install-deps.sh test installs gdb, so a missing gdb is a broken test setup, not another host.
        Assert.True(File.Exists(Gdb), $"{Gdb} is missing: scripts/install-deps.sh test installs Debian's gdb");
        string kernel = MultibootImage.WriteTemporary(Guest, "gdb-wait");
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
            foreach (string argument in (string[])[EmberProcess.Dll, "run", "--kernel", kernel, "--console", "none", "--debug-exit", "--gdb", "tcp:127.0.0.1:0", "--gdb-wait"])
                info.ArgumentList.Add(argument);
            using var ember = Process.Start(info)!;
            ember.StandardInput.Close();
            // The note names the port the stub really got (port 0 asked for any).
            string? note = null;
            while (ember.StandardError.ReadLine() is { } line)
            {
                if (line.Contains("gdb stub on", StringComparison.Ordinal))
                {
                    note = line;
                    break;
                }
            }
            Assert.NotNull(note);
            Assert.Contains("the guest waits for the debugger", note);
            string target = TargetInNote().Match(note).Groups[1].Value;
            var stderrRest = ember.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.False(ember.HasExited);

            ulong entry = MultibootImage.CodeAddress;
            var gdb = Process.Start(new ProcessStartInfo(Gdb, ["-batch", "-nx", "-q", "-ex", $"target remote {target}", "-ex", $"break *0x{entry:x}",
                "-ex", "continue", "-ex", "stepi", "-ex", "print/x $eax", "-ex", "continue"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var gdbOutput = gdb.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(gdb.WaitForExit(SafetyNet), "gdb did not finish");
            string output = await gdbOutput + await gdb.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(ember.WaitForExit(SafetyNet), "ember did not finish");
            Assert.Contains($"Breakpoint 1, 0x{entry:x8} in ?? ()", output);
            Assert.Contains("= 0x12345678", output);
            Assert.Contains($"exited with code 0{Convert.ToString((0x2a << 1) | 1, 8)}]", output);
            Assert.Equal((0x2a << 1) | 1, ember.ExitCode);
            Assert.DoesNotContain("error", await stderrRest);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void APortThatIsTakenIsOneClearLineAndNoMachine()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string kernel = MultibootImage.WriteTemporary(Guest, "gdb-taken");
        try
        {
            var result = EmberProcess.Run("run", "--kernel", kernel, "--console", "none", "--gdb", $"tcp:127.0.0.1:{port}");
            Assert.Equal(2, result.ExitCode);
            Assert.Equal($"ember: error: cannot listen for gdb on tcp:127.0.0.1:{port}: the address is already in use", result.Stderr.Trim());
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
