using System.Buffers.Binary;
using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Kvm.Tests;

/// <summary>PIO, MMIO and HLT exits carry exactly what the guest did.</summary>
[Trait("Requires", "kvm")]
public sealed class ExitTests
{
    private readonly record struct PortAccess(ushort Port, int Size, IoDirection Direction, uint Count, byte[] Data);

    [Fact]
    public void PortWritesOfEachWidthCarryPortSizeDirectionAndData()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        machine.LoadRealMode(a =>
        {
            a.mov(al, 0x12);
            a.@out(0x10, al);
            a.mov(dx, 0x1234);
            a.mov(ax, 0xBEEF);
            a.@out(dx, ax);
            a.mov(eax, 0xCAFEBABE);
            a.@out(dx, eax);
            a.hlt();
        });
        var accesses = new List<PortAccess>();
        bool halted = false;
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
            {
                halted = true;
                return false;
            }
            Assert.Equal(VcpuExitReason.Io, exit.Reason);
            var io = exit.Io;
            accesses.Add(new PortAccess(io.Port, io.Size, io.Direction, io.Count, io.Data.ToArray()));
            return true;
        });
        Assert.True(halted);
        Assert.Equal(3, accesses.Count);
        Assert.Equal(new PortAccess(0x10, 1, IoDirection.Out, 1, [0x12]), accesses[0], PortAccessComparer.Instance);
        Assert.Equal(new PortAccess(0x1234, 2, IoDirection.Out, 1, [0xEF, 0xBE]), accesses[1], PortAccessComparer.Instance);
        Assert.Equal(new PortAccess(0x1234, 4, IoDirection.Out, 1, [0xBE, 0xBA, 0xFE, 0xCA]), accesses[2], PortAccessComparer.Instance);
    }

    [Fact]
    public void PortReadsReturnWhatTheHostPutInTheExitBuffer()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        machine.LoadRealMode(a =>
        {
            a.mov(dx, 0x60);
            a.@in(al, dx);        // host answers 0x5A
            a.mov(bl, al);
            a.@in(ax, dx);        // host answers 0x1357
            a.mov(cx, ax);
            a.@in(eax, dx);       // host answers 0x89ABCDEF
            a.mov(esi, eax);
            a.hlt();
        });
        var answers = new Queue<byte[]>([[0x5A], [0x57, 0x13], [0xEF, 0xCD, 0xAB, 0x89]]);
        var sizes = new List<int>();
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            var io = exit.Io;
            Assert.Equal(IoDirection.In, io.Direction);
            Assert.Equal(0x60, io.Port);
            sizes.Add(io.Size);
            answers.Dequeue().CopyTo(io.Data);
            return true;
        });
        Assert.Equal([1, 2, 4], sizes);
        var regs = machine.Vcpu.GetRegisters();
        Assert.Equal(0x5Aul, regs.Rbx & 0xFF);
        Assert.Equal(0x1357ul, regs.Rcx & 0xFFFF);
        Assert.Equal(0x89ABCDEFul, regs.Rsi & 0xFFFF_FFFF);
    }

    [Fact]
    public void StringPortOutputHasACountAndAllTheBytes()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        const ushort buffer = 0x3000;
        machine.Write(buffer, "EMBER!"u8);
        machine.LoadRealMode(a =>
        {
            a.cld();
            a.mov(si, buffer);
            a.mov(cx, 6);
            a.mov(dx, 0x3F8);
            a.rep.outsb();
            a.hlt();
        });
        var received = new List<byte>();
        uint totalCount = 0;
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            var io = exit.Io;
            Assert.Equal(0x3F8, io.Port);
            Assert.Equal(1, io.Size);
            Assert.Equal(IoDirection.Out, io.Direction);
            Assert.Equal((int)io.Count, io.Data.Length);
            totalCount += io.Count;
            received.AddRange(io.Data.ToArray());
            return true;
        });
        Assert.Equal(6u, totalCount);
        Assert.Equal("EMBER!"u8.ToArray(), received.ToArray());
    }

    [Fact]
    public void StringPortInputFillsGuestMemory()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        const ushort buffer = 0x3000;
        machine.LoadRealMode(a =>
        {
            a.cld();
            a.xor(ax, ax);
            a.mov(es, ax);
            a.mov(di, buffer);
            a.mov(cx, 4);
            a.mov(dx, 0x2F8);
            a.rep.insw();
            a.hlt();
        });
        ushort next = 0x1000;
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            var io = exit.Io;
            Assert.Equal(IoDirection.In, io.Direction);
            Assert.Equal(2, io.Size);
            for (int i = 0; i < io.Count; i++)
                BinaryPrimitives.WriteUInt16LittleEndian(io.Data[(i * 2)..], next++);
            return true;
        });
        Assert.Equal(0x1001_1000u, machine.ReadUInt32(buffer));
        Assert.Equal(0x1003_1002u, machine.ReadUInt32(buffer + 4));
    }

    [Fact]
    public void MmioWritesAndReadsOfEveryWidthRoundTrip()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        const ulong device = 0x3000_0000;  // identity-mapped, beyond the 16 MiB of RAM: MMIO
        const ulong results = 0x4000;
        machine.LoadLong64(a =>
        {
            a.mov(rbx, device);
            a.mov(al, 0x11);
            a.mov(__byte_ptr[rbx], al);
            a.mov(ax, 0x2233);
            a.mov(__word_ptr[rbx + 2], ax);
            a.mov(eax, 0x44556677);
            a.mov(__dword_ptr[rbx + 4], eax);
            a.mov(rax, 0x0123_4567_89AB_CDEF);
            a.mov(__qword_ptr[rbx + 8], rax);
            a.mov(rdi, results);
            a.movzx(eax, __byte_ptr[rbx + 16]);
            a.mov(__qword_ptr[rdi], rax);
            a.movzx(eax, __word_ptr[rbx + 18]);
            a.mov(__qword_ptr[rdi + 8], rax);
            a.mov(eax, __dword_ptr[rbx + 20]);
            a.mov(__qword_ptr[rdi + 16], rax);
            a.mov(rax, __qword_ptr[rbx + 24]);
            a.mov(__qword_ptr[rdi + 24], rax);
            a.hlt();
        });
        var writes = new List<(ulong Address, ulong Value, int Length)>();
        var reads = new List<(ulong Address, int Length)>();
        machine.Run((vcpu, exit) =>
        {
            if (exit.Reason == VcpuExitReason.Hlt)
                return false;
            Assert.Equal(VcpuExitReason.Mmio, exit.Reason);
            var mmio = exit.Mmio;
            Span<byte> eight = stackalloc byte[8];
            if (mmio.IsWrite)
            {
                eight.Clear();
                mmio.Data.CopyTo(eight);
                writes.Add((mmio.Address, BinaryPrimitives.ReadUInt64LittleEndian(eight), mmio.Length));
            }
            else
            {
                reads.Add((mmio.Address, mmio.Length));
                ulong answer = 0xF1E2_D3C4_B5A6_9788UL;
                BinaryPrimitives.WriteUInt64LittleEndian(eight, answer);
                eight[..mmio.Length].CopyTo(mmio.Data);
            }
            return true;
        });
        Assert.Equal(
            [(device, 0x11ul, 1), (device + 2, 0x2233ul, 2), (device + 4, 0x44556677ul, 4), (device + 8, 0x0123_4567_89AB_CDEFul, 8)],
            writes);
        Assert.Equal([(device + 16, 1), (device + 18, 2), (device + 20, 4), (device + 24, 8)], reads);
        Assert.Equal(0x88ul, machine.ReadUInt64(results));
        Assert.Equal(0x9788ul, machine.ReadUInt64(results + 8));
        Assert.Equal(0xB5A6_9788ul, machine.ReadUInt64(results + 16));
        Assert.Equal(0xF1E2_D3C4_B5A6_9788UL, machine.ReadUInt64(results + 24));
    }

    [Fact]
    public void HaltExitsWithTheInstructionPointerPastTheHlt()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        machine.LoadRealMode(a =>
        {
            a.nop();
            a.hlt();
        });
        VcpuExitReason reason = VcpuExitReason.Unknown;
        machine.Run((vcpu, exit) =>
        {
            reason = exit.Reason;
            return false;
        });
        Assert.Equal(VcpuExitReason.Hlt, reason);
        Assert.Equal(TestGuestLayout.RealModeCode + 2, machine.Vcpu.GetRegisters().Rip);
    }

    private sealed class PortAccessComparer : IEqualityComparer<PortAccess>
    {
        public static readonly PortAccessComparer Instance = new();

        public bool Equals(PortAccess x, PortAccess y) =>
            x.Port == y.Port && x.Size == y.Size && x.Direction == y.Direction && x.Count == y.Count && x.Data.AsSpan().SequenceEqual(y.Data);

        public int GetHashCode(PortAccess obj) => obj.Port;
    }
}
