using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;
using Ember.Sys;

namespace Ember.Kvm.Tests;

/// <summary>KVM_IOEVENTFD: guest writes signal an eventfd inside the kernel instead of exiting (api.rst 4.59).</summary>
[Trait("Requires", "kvm")]
public sealed class IoEventFdTests
{
    private const byte SyncPort = 0x10;
    private const ulong MmioBase = 0x3000_0000;

    /// <summary>Runs to HLT, recording every exit that is not the sync port; calls onSync at each sync-port write.</summary>
    private static List<(ushort Port, ulong Value)> RunCollectingPortExits(TestMachine machine, Action? onSync = null)
    {
        var exits = new List<(ushort, ulong)>();
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            var io = exit.Io;
            if (io.Port == SyncPort)
            {
                onSync?.Invoke();
                return true;
            }
            ulong value = 0;
            for (int i = io.Data.Length - 1; i >= 0; i--)
                value = value << 8 | io.Data[i];
            exits.Add((io.Port, value));
            return true;
        });
        return exits;
    }

    [Fact]
    public void PioWritesSignalTheEventFdWithoutExiting()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        machine.Vm.RegisterIoEvent(notify, IoEventRegistration.Pio(0x700, 1));
        machine.LoadRealMode(a =>
        {
            var loop = a.CreateLabel();
            a.mov(cx, 50);
            a.mov(dx, 0x700);
            a.Label(ref loop);
            a.@out(dx, al);
            a.loop(loop);
            a.hlt();
        });
        var exits = RunCollectingPortExits(machine);
        Assert.Empty(exits);
        Assert.Equal(50ul, notify.Drain());
    }

    [Fact]
    public void DatamatchSignalsOnlyForTheMatchingValueAndOthersExit()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        machine.Vm.RegisterIoEvent(notify, IoEventRegistration.Pio(0x702, 2, datamatch: 0x1234));
        machine.LoadRealMode(a =>
        {
            a.mov(dx, 0x702);
            foreach (ushort value in new ushort[] { 0x1234, 0x5678, 0x1234, 0x1234, 0x9ABC })
            {
                a.mov(ax, value);
                a.@out(dx, ax);
            }
            a.hlt();
        });
        var exits = RunCollectingPortExits(machine);
        Assert.Equal([(0x702, 0x5678ul), (0x702, 0x9ABCul)], exits.Select(e => ((int)e.Port, e.Value)));
        Assert.Equal(3ul, notify.Drain());
    }

    [Fact]
    public void MmioEventFdsOfEachLengthSignalOnlyForWritesOfThatLength()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        var fds = new[] { new EventFd(), new EventFd(), new EventFd(), new EventFd() };
        try
        {
            uint[] lengths = [1, 2, 4, 8];
            for (int i = 0; i < 4; i++)
                machine.Vm.RegisterIoEvent(fds[i], IoEventRegistration.Mmio(MmioBase + (ulong)i * 16, lengths[i]));
            machine.LoadLong64(a =>
            {
                a.mov(rbx, MmioBase);
                a.mov(rax, 0x1122_3344_5566_7788);
                for (int round = 0; round < 2; round++)
                {
                    a.mov(__byte_ptr[rbx], al);
                    a.mov(__word_ptr[rbx + 16], ax);
                    a.mov(__dword_ptr[rbx + 32], eax);
                    a.mov(__qword_ptr[rbx + 48], rax);
                }
                a.mov(__dword_ptr[rbx + 16], eax);  // wrong length for the 2-byte eventfd: must exit
                a.hlt();
            });
            var mmioExits = new List<(ulong Address, int Length)>();
            machine.Run((vcpu, exit) =>
            {
                if (exit.Reason == VcpuExitReason.Hlt)
                    return false;
                Assert.Equal(VcpuExitReason.Mmio, exit.Reason);
                mmioExits.Add((exit.Mmio.Address, exit.Mmio.Length));
                return true;
            });
            Assert.Equal([(MmioBase + 16, 4)], mmioExits);
            Assert.Equal([2ul, 2ul, 2ul, 2ul], fds.Select(f => f.Drain()));
        }
        finally
        {
            foreach (var fd in fds)
                fd.Dispose();
        }
    }

    [Fact]
    public void ZeroLengthMmioEventFdSignalsForAnyWidthWhenTheHostSupportsIt()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        var registration = IoEventRegistration.Mmio(MmioBase + 0x100, 0);
        if (!machine.Vm.HasCapability(KvmCapability.IoEventFdAnyLength))
        {
            var refused = Assert.ThrowsAny<KvmException>(() => machine.Vm.RegisterIoEvent(notify, registration));
            Assert.Equal(Errno.EINVAL, refused.Errno);
            return;
        }
        machine.Vm.RegisterIoEvent(notify, registration);
        machine.LoadLong64(a =>
        {
            a.mov(rbx, MmioBase + 0x100);
            a.mov(rax, 0xFFFF_FFFF_FFFF_FFFF);
            a.mov(__byte_ptr[rbx], al);
            a.mov(__word_ptr[rbx], ax);
            a.mov(__dword_ptr[rbx], eax);
            a.mov(__qword_ptr[rbx], rax);
            a.hlt();
        });
        int mmioExits = 0;
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            mmioExits++;
            return true;
        });
        Assert.Equal(0, mmioExits);
        Assert.Equal(4ul, notify.Drain());
    }

    [Fact]
    public void ZeroLengthWithDatamatchIsRejectedBeforeReachingKvm()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        Assert.Throws<ArgumentException>(() => machine.Vm.RegisterIoEvent(notify, IoEventRegistration.Mmio(MmioBase, 0, datamatch: 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Vm.RegisterIoEvent(notify, IoEventRegistration.Mmio(MmioBase, 3)));
    }

    [Fact]
    public void AfterDeassignWritesExitAgain()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        var registration = IoEventRegistration.Pio(0x704, 1);
        machine.Vm.RegisterIoEvent(notify, registration);
        machine.LoadRealMode(a =>
        {
            a.mov(dx, 0x704);
            a.@out(dx, al);
            a.@out(dx, al);
            a.@out(dx, al);
            a.@out(SyncPort, al);
            a.mov(al, 0x42);
            a.@out(dx, al);
            a.@out(dx, al);
            a.hlt();
        });
        var exits = RunCollectingPortExits(machine, onSync: () => machine.Vm.UnregisterIoEvent(notify, registration));
        Assert.Equal([(0x704, 0x42ul), (0x704, 0x42ul)], exits.Select(e => ((int)e.Port, e.Value)));
        Assert.Equal(3ul, notify.Drain());
    }

    [Fact]
    public void AssigningTheSameIoEventTwiceIsATypedEexist()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        var registration = IoEventRegistration.Pio(0x706, 4, datamatch: 7);
        machine.Vm.RegisterIoEvent(notify, registration);
        var error = Assert.ThrowsAny<KvmException>(() => machine.Vm.RegisterIoEvent(notify, registration));
        Assert.Equal(Errno.EEXIST, error.Errno);
        Assert.Equal("KVM_IOEVENTFD", error.Operation);
    }

    [Fact]
    public void DeassigningWhatWasNeverAssignedIsATypedError()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        using var notify = new EventFd();
        var error = Assert.ThrowsAny<KvmException>(() => machine.Vm.UnregisterIoEvent(notify, IoEventRegistration.Pio(0x708, 1)));
        Assert.Equal(Errno.ENOENT, error.Errno);
    }
}
