using System.Buffers.Binary;
using System.Xml.Linq;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class X86RegisterLayoutTests
{
    private static X86RegisterState Sample()
    {
        var state = new X86RegisterState();
        var g = state.General;
        g.Rax = 0x0102_0304_0506_0708;
        g.Rbx = 0x11;
        g.Rcx = 0x22;
        g.Rdx = 0x33;
        g.Rsi = 0x44;
        g.Rdi = 0x55;
        g.Rbp = 0x66;
        g.Rsp = 0x77;
        g.R15 = 0xF15;
        g.Rip = 0xFFFF_FFFF_8100_0000;
        g.Rflags = 0x246;
        state.General = g;
        state.Special.Cs.Selector = 0x10;
        state.Special.Ss.Selector = 0x18;
        state.Special.Fs.Base = 0xF5_0000;
        state.Special.Gs.Base = 0x65_0000;
        state.Special.Cr0 = 0x8000_0011;
        state.Fpu.Fcw = 0x37F;
        state.Fpu.Fsw = 3 << 11; // TOP = 3
        state.Fpu.Mxcsr = 0x1F80;
        state.Fpu.LastIp = 0x0000_0023_1234_5678; // FCS 0x23, FIP 0x12345678
        state.Fpu.XmmBytes[16] = 0xAA;            // xmm1, lowest byte
        state.Fpu.StackRegisterBytes[9] = 0x3F;   // st0 = 1.0: exponent 0x3fff, integer bit
        state.Fpu.StackRegisterBytes[8] = 0xFF;
        state.Fpu.StackRegisterBytes[7] = 0x80;
        return state;
    }

    private static int Number(X86RegisterLayout layout, string name) => layout.Registers.ToList().FindIndex(r => r.Name == name);

    private static ulong Value(X86RegisterLayout layout, byte[] g, string name)
    {
        int number = Number(layout, name);
        var bytes = g.AsSpan(layout.OffsetOf(number), layout.Registers[number].Bytes);
        Span<byte> wide = stackalloc byte[8];
        bytes[..Math.Min(8, bytes.Length)].CopyTo(wide);
        return BinaryPrimitives.ReadUInt64LittleEndian(wide);
    }

    [Fact]
    public void TheAmd64FileIsGdbsOrderAndSizes()
    {
        var layout = X86RegisterLayout.Amd64;
        Assert.Equal(["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8"], layout.Registers.Take(9).Select(r => r.Name));
        Assert.Equal(16, Number(layout, "rip"));
        Assert.Equal(17, Number(layout, "eflags"));
        Assert.Equal(24, Number(layout, "st0"));
        Assert.Equal(40, Number(layout, "xmm0"));
        Assert.Equal(56, Number(layout, "mxcsr"));
        Assert.Equal(59, layout.Registers.Count);
        // 17 x 8 + eflags and six selectors x 4 + 8 x 10 + 8 x 4 + 16 x 16 + 4 + fs_base, gs_base x 8.
        Assert.Equal(552, layout.TotalBytes);

        var g = layout.Pack(Sample());
        Assert.Equal(0x0102_0304_0506_0708UL, Value(layout, g, "rax"));
        Assert.Equal(0x66UL, Value(layout, g, "rbp"));
        Assert.Equal(0x77UL, Value(layout, g, "rsp"));
        Assert.Equal(0xF15UL, Value(layout, g, "r15"));
        Assert.Equal(0xFFFF_FFFF_8100_0000UL, Value(layout, g, "rip"));
        Assert.Equal(0x246UL, Value(layout, g, "eflags"));
        Assert.Equal(0x18UL, Value(layout, g, "ss"));
        Assert.Equal(0x37FUL, Value(layout, g, "fctrl"));
        Assert.Equal(0x23UL, Value(layout, g, "fiseg"));
        Assert.Equal(0x1234_5678UL, Value(layout, g, "fioff"));
        Assert.Equal(0x1F80UL, Value(layout, g, "mxcsr"));
        Assert.Equal(0xAAUL, Value(layout, g, "xmm1"));
        Assert.Equal(0x65_0000UL, Value(layout, g, "gs_base"));
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F], g.AsSpan(layout.OffsetOf(24), 10).ToArray());
    }

    [Fact]
    public void TheI386FileHasGdbsOwnGeneralRegisterOrderIn32Bits()
    {
        var layout = X86RegisterLayout.I386;
        Assert.Equal(["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags"], layout.Registers.Take(10).Select(r => r.Name));
        Assert.Equal(["xmm7", "mxcsr"], layout.Registers.TakeLast(2).Select(r => r.Name));
        Assert.Equal(308, layout.TotalBytes);
        var g = layout.Pack(Sample());
        Assert.Equal(0x0506_0708UL, Value(layout, g, "eax"));
        Assert.Equal(0x22UL, Value(layout, g, "ecx"));
        Assert.Equal(0x11UL, Value(layout, g, "ebx"));
        Assert.Equal(0x8100_0000UL, Value(layout, g, "eip"));
    }

    [Fact]
    public void WritingTheWholeFileBackChangesNothingAndANarrowWriteKeepsTheUpperHalf()
    {
        foreach (var layout in new[] { X86RegisterLayout.Amd64, X86RegisterLayout.I386 })
        {
            var state = Sample();
            var g = layout.Pack(state);
            var copy = state.Clone();
            Assert.True(layout.Unpack(copy, g));
            Assert.Equal(g, layout.Pack(copy));
            Assert.Equal(state.General, copy.General);
            Assert.False(layout.Unpack(copy, g.AsSpan(1)));
        }
        var narrow = Sample();
        X86RegisterLayout.I386.Write(narrow, 0, [0xEF, 0xBE, 0xAD, 0xDE]);
        Assert.Equal(0x0102_0304_DEAD_BEEFUL, narrow.General.Rax);
    }

    [Fact]
    public void SelectorsChangeOnlyInRealModeWhereTheBaseFollows()
    {
        var layout = X86RegisterLayout.Amd64;
        int ds = Number(layout, "ds");
        var protectedMode = Sample();
        layout.Write(protectedMode, ds, [0x40, 0, 0, 0]);
        Assert.Equal(0, protectedMode.Special.Ds.Selector);
        var realMode = Sample();
        realMode.Special.Cr0 = 0;
        layout.Write(realMode, ds, [0x40, 0, 0, 0]);
        Assert.Equal(0x40, realMode.Special.Ds.Selector);
        Assert.Equal(0x400UL, realMode.Special.Ds.Base);
    }

    [Fact]
    public void EflagsKeepsItsReservedBitAndTheFpuFieldsRoundTrip()
    {
        var layout = X86RegisterLayout.Amd64;
        var state = Sample();
        layout.Write(state, Number(layout, "eflags"), [0, 0, 0, 0]);
        Assert.Equal(0x2UL, state.General.Rflags);
        layout.Write(state, Number(layout, "fooff"), [0x78, 0x56, 0x34, 0x12]);
        layout.Write(state, Number(layout, "foseg"), [0x2B, 0, 0, 0]);
        Assert.Equal(0x0000_002B_1234_5678UL, state.Fpu.LastDp);
        layout.Write(state, Number(layout, "ftag"), [0xFF, 0x3F, 0, 0]); // registers 0-6 empty, 7 valid
        Assert.Equal(0x80, state.Fpu.Ftwx);
    }

    [Fact]
    public void TheDescriptionDeclaresEveryRegisterOfTheLayoutInOrderWithEachTypeDefinedInItsFeature()
    {
        foreach (var (layout, xml, architecture) in new[] { (X86RegisterLayout.Amd64, GdbTargetDescription.Amd64, "i386:x86-64"), (X86RegisterLayout.I386, GdbTargetDescription.I386, "i386") })
        {
            var target = XDocument.Parse(xml).Root!;
            Assert.Equal(architecture, target.Element("architecture")!.Value);
            var registers = target.Descendants("reg").ToList();
            Assert.Equal(layout.Registers.Select(r => (r.Name, r.Bits.ToString(System.Globalization.CultureInfo.InvariantCulture))),
                registers.Select(r => (r.Attribute("name")!.Value, r.Attribute("bitsize")!.Value)));
            string[] predefined = ["int", "int32", "int64", "data_ptr", "code_ptr", "i387_ext"];
            foreach (var feature in target.Elements("feature"))
            {
                var defined = feature.Elements().Where(e => e.Name != "reg").Select(e => e.Attribute("id")!.Value).ToHashSet();
                foreach (var register in feature.Elements("reg"))
                    Assert.True(predefined.Contains(register.Attribute("type")!.Value) || defined.Contains(register.Attribute("type")!.Value), register.ToString());
            }
            Assert.Contains("org.gnu.gdb.i386.core", target.Elements("feature").Select(f => f.Attribute("name")!.Value));
            Assert.Contains("org.gnu.gdb.i386.sse", target.Elements("feature").Select(f => f.Attribute("name")!.Value));
        }
    }
}
