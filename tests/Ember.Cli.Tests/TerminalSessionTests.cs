using System.Diagnostics;
using System.Text.Json;
using Ember.Kvm;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Cli.Tests;

/// <summary>
/// `ember run` on a real terminal (a pseudo-terminal driven by PtyDriver/pty_session.py), as a user at a
/// shell meets it: keys reach the guest as typed, with no host echo and no Enter; Ctrl-C goes to the
/// guest; Ctrl-A X quits; and a signal that stops Ember leaves the terminal as it found it.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class TerminalSessionTests
{
    private sealed record Session(int Status, string Shown, bool Echo, bool Icanon, string? Failure);

    /// <summary>
    /// Says READY, then echoes each key upper-cased, and "CTRL-C" for 0x03; "q" resets the machine through the
    /// i8042 (the only way Firecracker mode, which has no console escapes, is left from the keyboard). Runs until then.
    /// </summary>
    private static string EchoGuest() => MultibootImage.WriteTemporary(a =>
    {
        var poll = a.CreateLabel();
        var notCtrlC = a.CreateLabel();
        var notQ = a.CreateLabel();
        var send = a.CreateLabel();
        GuestCode.Print32(a, "READY\n");
        a.Label(ref poll);
        a.mov(dx, 0x3FD);          // LSR
        a.@in(al, dx);
        a.test(al, 1);             // data ready
        a.jz(poll);
        a.mov(dx, 0x3F8);
        a.@in(al, dx);             // RBR
        a.cmp(al, 0x03);
        a.jne(notCtrlC);
        GuestCode.Print32(a, "CTRL-C\n");
        a.jmp(poll);
        a.Label(ref notCtrlC);
        a.cmp(al, (byte)'q');
        a.jne(notQ);
        a.mov(al, 0xFE);           // i8042: pulse the reset line
        a.@out(0x64, al);
        a.Label(ref notQ);
        a.cmp(al, (byte)'a');
        a.jb(send);
        a.cmp(al, (byte)'z');
        a.ja(send);
        a.sub(al, 0x20);
        a.Label(ref send);
        a.mov(dx, 0x3F8);
        a.@out(dx, al);
        a.jmp(poll);
    }, "echo");

    private static Session Run(string kernel, params string[] steps) => RunEmber(["run", "--kernel", kernel, "--memory", "32M"], steps);

    private static Session RunEmber(string[] arguments, string[] steps)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "PtyDriver", "pty_session.py"));
        foreach (string part in new[] { "dotnet", EmberProcess.Dll }.Concat(arguments).Append("--"))
            info.ArgumentList.Add(part);
        foreach (string step in steps)
            info.ArgumentList.Add(step);
        using var process = Process.Start(info)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the pty driver failed: {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        return new Session(root.GetProperty("status").GetInt32(), root.GetProperty("shown").GetString()!,
            root.GetProperty("echo").GetBoolean(), root.GetProperty("icanon").GetBoolean(),
            root.GetProperty("failure").ValueKind == JsonValueKind.Null ? null : root.GetProperty("failure").GetString());
    }

    private static string Hex(string text) => Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(text));

    [Fact]
    public void KeysReachTheGuestAsTypedCtrlCIsTheGuestsAndCtrlAXQuits()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = EchoGuest();
        try
        {
            // No Enter anywhere: on a cooked terminal "ab" would wait for one, and the host would echo it.
            var session = Run(kernel, "expect:READY", "send:" + Hex("ab"), "expect:AB", "send:03", "expect:CTRL-C", "send:0178");
            Assert.True(session.Failure is null, $"{session.Failure}; the terminal showed: {session.Shown}");
            Assert.Equal(0, session.Status);
            Assert.DoesNotContain("ab", session.Shown);     // no host echo
            Assert.DoesNotContain("^C", session.Shown);     // Ctrl-C was a byte for the guest, not a signal for Ember
            Assert.True(session.Echo && session.Icanon, "the terminal was left raw after Ctrl-A X");
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    /// <summary>
    /// Firecracker mode on a terminal: once the machine starts, stdin goes to the guest raw, as Firecracker's
    /// does (no host echo, no Enter, Ctrl-C a byte for the guest), and Ctrl-A is an ordinary byte there, not
    /// an escape; the terminal is put back when the guest ends the machine.
    /// </summary>
    [Fact]
    public void FirecrackerModeHandsTheGuestARawTerminalAndPutsItBack()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = EchoGuest();
        string config = Path.Combine(Path.GetTempPath(), $"ember-pty-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, $$"""
            {
              "boot-source": { "kernel_image_path": "{{kernel}}" },
              "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 }
            }
            """);
        try
        {
            var session = RunEmber(["--config-file", config, "--no-api"],
                ["expect:READY", "send:" + Hex("ab"), "expect:AB", "send:03", "expect:CTRL-C", "send:0178", "expect:\u0001X", "send:" + Hex("q")]);
            Assert.True(session.Failure is null, $"{session.Failure}; the terminal showed: {session.Shown}");
            Assert.True(session.Status == 4, $"status {session.Status}; the terminal showed: {session.Shown}");
            Assert.DoesNotContain("ab", session.Shown);     // no host echo
            Assert.DoesNotContain("^C", session.Shown);     // Ctrl-C was the guest's byte, not Ember's SIGINT
            Assert.Contains("\u0001X", session.Shown);     // Ctrl-A x reached the guest: no escape here
            Assert.True(session.Echo && session.Icanon, "the terminal was left raw after the guest reset");
        }
        finally
        {
            File.Delete(kernel);
            File.Delete(config);
        }
    }

    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("HUP", 129)]
    public void ASignalRestoresTheTerminalAndSaysWhatHappened(string signal, int status)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = EchoGuest();
        try
        {
            var session = Run(kernel, "expect:READY", "signal:" + signal);
            Assert.True(session.Failure is null, $"{session.Failure}; the terminal showed: {session.Shown}");
            Assert.Equal(status, session.Status);
            Assert.Contains($"ember: stopped by SIG{signal}", session.Shown);
            Assert.True(session.Echo && session.Icanon, $"SIG{signal} left the terminal without echo or line mode");
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
