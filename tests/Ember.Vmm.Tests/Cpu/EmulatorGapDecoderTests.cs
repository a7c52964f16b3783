using Ember.Kvm;
using Ember.Vmm.Cpu;
using Ember.Vmm.Host;
using Xunit;

namespace Ember.Vmm.Tests.Cpu;

public class EmulatorGapDecoderTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    [Theory]
    [InlineData("cc 90", EmulatorGapKind.Int3, 1)]
    [InlineData("cd 80", EmulatorGapKind.IntN, 2)]
    [InlineData("0f 0b", EmulatorGapKind.Ud2, 2)]
    [InlineData("9b 65 48 c7 05", EmulatorGapKind.Fwait, 1)]
    [InlineData("0f 01 ca", EmulatorGapKind.Clac, 3)]
    [InlineData("0f 01 cb", EmulatorGapKind.Stac, 3)]
    [InlineData("f3 48 0f b8 c7", EmulatorGapKind.Popcnt, 5)]
    [InlineData("f0 48 0f c7 0e", EmulatorGapKind.Cmpxchg16b, 5)]
    [InlineData("0f ae 27", EmulatorGapKind.Xsave, 3)]
    [InlineData("0f ae 54 24 04 83", EmulatorGapKind.Ldmxcsr, 5)]
    [InlineData("0f ae 5c 24 fc", EmulatorGapKind.Stmxcsr, 5)]
    [InlineData("48 0f ae 2f", EmulatorGapKind.Xrstor, 4)]
    public void DecodesEachGapWithItsLength(string code, EmulatorGapKind kind, int length)
    {
        var decoded = EmulatorGapDecoder.Decode(Hex(code), longMode: true);
        Assert.NotNull(decoded);
        Assert.Equal(kind, decoded.Value.Kind);
        Assert.Equal(length, decoded.Value.Length);
    }

    [Theory]
    [InlineData("90")]                 // nop
    [InlineData("f0 cc")]              // lock int3: #UD on the CPU, not a breakpoint
    [InlineData("0f b8 c7")]           // jmpe/popcnt without its mandatory F3
    [InlineData("f2 f3 0f b8 c7")]     // F2 and F3 together
    [InlineData("48 0f c7 c8")]        // cmpxchg16b needs a memory operand
    [InlineData("0f c7 0e")]           // without REX.W it is cmpxchg8b, not a gap
    [InlineData("0f ae e8")]           // lfence (register form of 0F AE /5)
    [InlineData("66 0f 01 ca")]        // clac takes no operand-size prefix
    [InlineData("f3 48 0f b8 84")]     // ModRM with a SIB byte that is cut off
    [InlineData("f3 0f b8 05 01 02")]  // RIP-relative displacement cut off
    [InlineData("")]
    public void DecodesNothingForOtherOrTruncatedBytes(string code) =>
        Assert.Null(EmulatorGapDecoder.Decode(Hex(code), longMode: true));

    [Fact]
    public void MoreThanFifteenBytesOfPrefixesIsNoInstruction() =>
        Assert.Null(EmulatorGapDecoder.Decode(Hex("66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 cc"), longMode: true));

    [Fact]
    public void ARexPrefixFollowedByALegacyPrefixIsIgnored()
    {
        // 48 (REX.W) then 66: the REX is dropped, so the operand size is 16 bits, not 64.
        var decoded = EmulatorGapDecoder.Decode(Hex("48 66 f3 0f b8 c7"), longMode: true)!.Value;
        Assert.Equal(2, decoded.OperandBytes);
        var withRex = EmulatorGapDecoder.Decode(Hex("66 f3 48 0f b8 c7"), longMode: true)!.Value;
        Assert.Equal(8, withRex.OperandBytes);
    }

    [Fact]
    public void OutsideLongModeFortyToFourFAreNotRex() =>
        // In 32-bit code 0x48 is `dec eax`, a whole instruction: what follows is not decoded as its operand.
        Assert.Null(EmulatorGapDecoder.Decode(Hex("48 0f ae 2f"), longMode: false));

    [Fact]
    public void PopcntRegisterFormNamesBothRegistersWithRexExtensions()
    {
        // f3 4d 0f b8 c8: popcnt r9, r8 (REX.W, REX.R, REX.B).
        var decoded = EmulatorGapDecoder.Decode(Hex("f3 4d 0f b8 c8"), longMode: true)!.Value;
        Assert.Equal(9, decoded.Reg);
        Assert.True(decoded.Operand!.Value.IsRegister);
        Assert.Equal(8, decoded.Operand.Value.Register);
        Assert.Equal(8, decoded.OperandBytes);
    }

    [Fact]
    public void PopcntMemoryFormsDecodeSibDisplacementAndSegment()
    {
        // 65 f3 4a 0f b8 44 8b f0: popcnt rax, gs:[rbx + r9*4 - 16]
        var sib = EmulatorGapDecoder.Decode(Hex("65 f3 4a 0f b8 44 8b f0"), longMode: true)!.Value;
        Assert.Equal(8, sib.Length);
        var operand = sib.Operand!.Value;
        Assert.False(operand.IsRegister);
        Assert.Equal(3, operand.Base);
        Assert.Equal(9, operand.Index);
        Assert.Equal(4, operand.Scale);
        Assert.Equal(-16, operand.Displacement);
        Assert.Equal(0x65, operand.Segment);

        var regs = new Registers { Rbx = 0x1000, R9 = 2 };
        var sregs = new SpecialRegisters { Gs = new Segment { Base = 0xffff_8880_0000_0000 } };
        Assert.Equal(0xffff_8880_0000_0000UL + 0x1000 + 8 - 16, ModRmAddress.Linear(operand, regs, sregs, nextRip: 0));
    }

    [Fact]
    public void RipRelativeAddressesCountFromTheNextInstruction()
    {
        // f3 0f b8 05 10 00 00 00: popcnt eax, [rip + 0x10]; 8 bytes long.
        var decoded = EmulatorGapDecoder.Decode(Hex("f3 0f b8 05 10 00 00 00"), longMode: true)!.Value;
        Assert.Equal(8, decoded.Length);
        Assert.Equal(4, decoded.OperandBytes);
        var operand = decoded.Operand!.Value;
        Assert.True(operand.RipRelative);
        Assert.Equal(-1, operand.Base);
        Assert.Equal(0x4010UL, ModRmAddress.Linear(operand, new Registers(), new SpecialRegisters(), nextRip: 0x4000));
    }

    [Fact]
    public void SibWithNoBaseTakesADisplacementOnly()
    {
        // f3 0f b8 04 25 00 10 00 00: popcnt eax, [0x1000]
        var decoded = EmulatorGapDecoder.Decode(Hex("f3 0f b8 04 25 00 10 00 00"), longMode: true)!.Value;
        var operand = decoded.Operand!.Value;
        Assert.Equal(-1, operand.Base);
        Assert.Equal(-1, operand.Index);
        Assert.Equal(0x1000, operand.Displacement);
        Assert.Equal(9, decoded.Length);
    }

    [Fact]
    public void HostNoteNamesTheGap()
    {
        Assert.Equal("int3", KvmPvmEmulatorGaps.Identify(Hex("cc 90 90")));
        Assert.Equal("popcnt", KvmPvmEmulatorGaps.Identify(Hex("f3 48 0f b8 c7")));
        Assert.Null(KvmPvmEmulatorGaps.Identify(Hex("d8 13 c0 81 ff ff ff ff")));
    }

    [Fact]
    public void RandomBytesNeverThrowAndNeverDecodePastTheirEnd()
    {
        var random = new Random(9);
        var code = new byte[20];
        for (int n = 0; n < 200_000; n++)
        {
            random.NextBytes(code);
            int length = random.Next(0, code.Length + 1);
            var decoded = EmulatorGapDecoder.Decode(code.AsSpan(0, length), longMode: (n & 1) == 0);
            if (decoded is { } d)
                Assert.InRange(d.Length, 1, Math.Min(length, EmulatorGapDecoder.MaxInstructionLength));
        }
    }
}
