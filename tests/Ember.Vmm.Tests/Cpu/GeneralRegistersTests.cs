using Ember.Kvm;
using Ember.Vmm.Cpu;
using Xunit;

namespace Ember.Vmm.Tests.Cpu;

public class GeneralRegistersTests
{
    [Fact]
    public void EncodingNumbersFollowTheSdmNotKvmRegsOrder()
    {
        var regs = new Registers();
        for (int n = 0; n < 16; n++)
            GeneralRegisters.Write(ref regs, n, 0x100UL + (ulong)n);
        Assert.Equal(0x100UL, regs.Rax);
        Assert.Equal(0x101UL, regs.Rcx);
        Assert.Equal(0x102UL, regs.Rdx);
        Assert.Equal(0x103UL, regs.Rbx);
        Assert.Equal(0x104UL, regs.Rsp);
        Assert.Equal(0x107UL, regs.Rdi);
        Assert.Equal(0x10FUL, regs.R15);
        for (int n = 0; n < 16; n++)
            Assert.Equal(0x100UL + (ulong)n, GeneralRegisters.Read(regs, n));
    }
}
