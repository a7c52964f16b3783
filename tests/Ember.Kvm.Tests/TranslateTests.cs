using Ember.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Kvm.Tests;

/// <summary>KVM_TRANSLATE walks the guest's own page tables.</summary>
[Trait("Requires", "kvm")]
public sealed class TranslateTests
{
    [Fact]
    public void AVirtualAddressTranslatesToWhereThePageTablesPointAndTheGuestsWriteLandsThere()
    {
        KvmRequirement.Check();
        using var machine = TestMachine.Create();
        const ulong virtualPage = 0x1_0000_0000, physicalPage = 0x20_0000;
        machine.MapLarge2MiB(virtualPage, physicalPage);
        machine.LoadLong64(a =>
        {
            a.mov(rbx, virtualPage + 0x1234);
            a.mov(__dword_ptr[rbx], 0xCAFEBABE);
            a.hlt();
        });
        machine.Run((vcpu, exit) => exit.Reason != VcpuExitReason.Hlt);

        var mapped = machine.Vcpu.Translate(virtualPage + 0x1234);
        Assert.True(mapped.IsValid);
        Assert.Equal(physicalPage + 0x1234, mapped.PhysicalAddress);
        Assert.Equal(1, mapped.Writeable);
        Assert.Equal(0xCAFEBABEu, machine.ReadUInt32(physicalPage + 0x1234));

        var identity = machine.Vcpu.Translate(0x12_3456);
        Assert.True(identity.IsValid);
        Assert.Equal(0x12_3456ul, identity.PhysicalAddress);

        var unmapped = machine.Vcpu.Translate(0x2_0000_0000);
        Assert.False(unmapped.IsValid);
    }
}
