using Ember.Kvm;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Cli.Tests;

/// <summary>Host stdin reaches the guest's COM1, and Ctrl-A X stops Ember as QEMU's console does.</summary>
[Trait("Requires", "kvm")]
public sealed class ConsoleInputTests
{
    [Fact]
    public void ABytePipedToStdinIsReceivedByTheGuestUart()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var poll = a.CreateLabel();
            a.mov(dx, 0x3FD);          // LSR
            a.Label(ref poll);
            a.@in(al, dx);
            a.test(al, 1);             // data ready
            a.jz(poll);
            a.mov(dx, 0x3F8);
            a.@in(al, dx);             // RBR
            a.mov(dx, GuestCode.DebugExit);
            a.@out(dx, al);
            a.hlt();
        });
        try
        {
            var result = EmberProcess.RunWithInput("Z"u8.ToArray(), "run", "--kernel", kernel, "--debug-exit", "--memory", "32M");
            Assert.Equal(('Z' << 1) | 1, result.ExitCode);
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void CtrlAThenXStopsAGuestThatWouldRunForever()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        string kernel = MultibootImage.WriteTemporary(a =>
        {
            var forever = a.CreateLabel();
            a.Label(ref forever);
            a.cli();
            a.hlt();
            a.jmp(forever);
        });
        try
        {
            var result = EmberProcess.RunWithInput([0x01, (byte)'x'], "run", "--kernel", kernel, "--memory", "32M");
            Assert.Equal(0, result.ExitCode);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
