using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Cpu;

/// <summary>Reading and writing a vCPU's logical (virtual) memory through its own page tables.</summary>
[Trait("Requires", "kvm")]
public sealed class VcpuLogicalMemoryTests
{
    private const ulong VirtualPage = 0x1_0000_0000, PhysicalPage = 0x40_0000;

    private static TestMachine LongModeMachineWithAMapping()
    {
        var machine = TestMachine.Create(memorySize: 8UL << 20);
        machine.MapLarge2MiB(VirtualPage, PhysicalPage);
        machine.LoadLong64(a => a.hlt());
        machine.Run((vcpu, exit) => exit.Reason != VcpuExitReason.Hlt);  // paging is now live in the vCPU
        return machine;
    }

    [Fact]
    public void WritesThroughAVirtualAddressLandAtThePhysicalPageAndReadBack()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using var machine = LongModeMachineWithAMapping();
        // Straddle a 4 KiB boundary inside the 2 MiB page.
        ulong address = VirtualPage + 0x1FFE;
        Assert.True(VcpuLogicalMemory.TryWrite(machine.Vcpu, machine.Memory, address, "EMBER"u8));
        Assert.Equal("EMBER"u8.ToArray(), machine.Memory.GetSpan(new(PhysicalPage + 0x1FFE), 5).ToArray());
        Span<byte> back = stackalloc byte[5];
        Assert.True(VcpuLogicalMemory.TryRead(machine.Vcpu, machine.Memory, address, back));
        Assert.Equal("EMBER"u8.ToArray(), back.ToArray());
    }

    [Fact]
    public void AnAccessRunningIntoAnUnmappedPageFailsAndWritesNothing()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using var machine = LongModeMachineWithAMapping();
        ulong lastBytes = VirtualPage + 0x20_0000 - 2;   // the next 2 MiB page is not mapped
        Assert.False(VcpuLogicalMemory.TryWrite(machine.Vcpu, machine.Memory, lastBytes, [1, 2, 3, 4]));
        Assert.Equal(0, machine.Memory.ReadObject<ushort>(new(PhysicalPage + 0x20_0000 - 2)));
        Span<byte> buffer = stackalloc byte[4];
        Assert.False(VcpuLogicalMemory.TryRead(machine.Vcpu, machine.Memory, lastBytes, buffer));
        // Mapped by the guest but outside its RAM (the identity map covers 4 GiB, RAM is 8 MiB): refused too.
        Assert.False(VcpuLogicalMemory.TryRead(machine.Vcpu, machine.Memory, 0x3000_0000, buffer));
    }
}
