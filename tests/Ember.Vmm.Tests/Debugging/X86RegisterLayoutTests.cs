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
        state.Special.Cr2 = 0xFFFF_8000_DEAD_0000;
        state.Special.Cr3 = 0x80_0000;
        state.Special.Cr4 = 0x20;
        state.Special.Cr8 = 0x5;
        state.Special.Efer = 0x500;
        state.KernelGsBase = 0xFFFF_8880_0001_0000;
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

    /// <summary>Each named register's value in <see cref="Sample"/>'s g packet (its low 8 bytes).</summary>
    private static void AssertPacked(X86RegisterLayout layout, params (string Name, ulong Value)[] expected)
    {
        var g = layout.Pack(Sample());
        Assert.Equal(expected, expected.Select(e => (e.Name, Value(layout, g, e.Name))));
    }

    [Fact]
    public void TheAmd64FileIsGdbsOrderAndSizes()
    {
        var layout = X86RegisterLayout.Amd64;
        Assert.Equal(["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8"], layout.Registers.Take(9).Select(r => r.Name));
        Assert.Equal(
            [("rip", 16), ("eflags", 17), ("st0", 24), ("xmm0", 40), ("mxcsr", 56), ("fs_base", 57), ("cr0", 59), ("k_gs_base", 65)],
            new[] { "rip", "eflags", "st0", "xmm0", "mxcsr", "fs_base", "cr0", "k_gs_base" }.Select(name => (name, Number(layout, name))));
        Assert.Equal(["cr0", "cr2", "cr3", "cr4", "cr8", "efer", "k_gs_base"], layout.Registers.Skip(59).Select(r => r.Name));
        Assert.Equal(66, layout.Registers.Count);
        // 17 x 8 + eflags and six selectors x 4 + 8 x 10 + 8 x 4 + 16 x 16 + 4 + fs_base, gs_base x 8 + 7 system registers x 8.
        Assert.Equal(608, layout.TotalBytes);

        AssertPacked(layout,
            ("rax", 0x0102_0304_0506_0708), ("rbp", 0x66), ("rsp", 0x77), ("r15", 0xF15), ("rip", 0xFFFF_FFFF_8100_0000),
            ("eflags", 0x246), ("ss", 0x18), ("fctrl", 0x37F), ("fiseg", 0x23), ("fioff", 0x1234_5678), ("mxcsr", 0x1F80),
            ("xmm1", 0xAA), ("gs_base", 0x65_0000), ("cr0", 0x8000_0011), ("cr2", 0xFFFF_8000_DEAD_0000), ("cr3", 0x80_0000),
            ("cr4", 0x20), ("cr8", 0x5), ("efer", 0x500), ("k_gs_base", 0xFFFF_8880_0001_0000));
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0x80, 0xFF, 0x3F], layout.Pack(Sample()).AsSpan(layout.OffsetOf(24), 10).ToArray());
    }

    [Fact]
    public void TheI386FileHasGdbsOwnGeneralRegisterOrderIn32BitsAndThe32BitControlRegisters()
    {
        var layout = X86RegisterLayout.I386;
        Assert.Equal(["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags"], layout.Registers.Take(10).Select(r => r.Name));
        Assert.Equal(["xmm7", "mxcsr", "cr0", "cr2", "cr3", "cr4", "efer"], layout.Registers.TakeLast(7).Select(r => r.Name));
        Assert.Equal([32, 32, 32, 32, 64], layout.Registers.TakeLast(5).Select(r => r.Bits));
        Assert.Equal(332, layout.TotalBytes);
        AssertPacked(layout, ("eax", 0x0506_0708), ("ecx", 0x22), ("ebx", 0x11), ("eip", 0x8100_0000), ("cr2", 0xDEAD_0000), ("cr3", 0x80_0000), ("efer", 0x500));
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
    public void ControlRegistersAndKernelGsBaseAreWrittenWhereKvmKeepsThemAndCr8TakesOnlyItsFourBits()
    {
        var layout = X86RegisterLayout.Amd64;
        var state = Sample();
        Assert.True(layout.Write(state, Number(layout, "cr2"), [0x34, 0x12, 0, 0, 0, 0, 0, 0]));
        Assert.True(layout.Write(state, Number(layout, "cr8"), [0xF, 0, 0, 0, 0, 0, 0, 0]));
        Assert.True(layout.Write(state, Number(layout, "k_gs_base"), [0, 0, 0x20, 0, 0, 0, 0, 0]));
        Assert.Equal((0x1234UL, 0xFUL, 0x20_0000UL), (state.Special.Cr2, state.Special.Cr8, state.KernelGsBase));
        // CR8's bits 4-63 are reserved: refused here, as KVM_SET_SREGS would drop them without a word.
        Assert.False(layout.Write(state, Number(layout, "cr8"), [0x10, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(0xFUL, state.Special.Cr8);
        var g = layout.Pack(state);
        g[layout.OffsetOf(Number(layout, "cr8"))] = 0x10;
        Assert.False(layout.Unpack(state.Clone(), g));
        // i386's 32-bit cr3 keeps the (zero) upper half.
        var i386 = X86RegisterLayout.I386;
        Assert.True(i386.Write(state, Number(i386, "cr3"), [0, 0x30, 0, 0]));
        Assert.Equal(0x3000UL, state.Special.Cr3);
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
            var features = target.Elements("feature").ToDictionary(f => f.Attribute("name")!.Value);
            Assert.Equal(layout.Registers.Select(r => r.Feature).Distinct(), features.Keys);
            Assert.Contains("org.gnu.gdb.i386.core", features.Keys);
            Assert.Contains("org.gnu.gdb.i386.sse", features.Keys);
            // The control registers: CR0, CR4 and EFER shown as flags, each type as wide as its register.
            var system = features[X86RegisterLayout.SystemFeature];
            var flagged = system.Elements("flags").Select(flags => (Flags: flags, Register: system.Elements("reg").Single(r => r.Attribute("type")!.Value == flags.Attribute("id")!.Value))).ToList();
            Assert.Equal(["cr0", "cr4", "efer"], flagged.Select(f => f.Register.Attribute("name")!.Value));
            Assert.All(flagged, f => Assert.Equal((int)f.Register.Attribute("bitsize")! / 8, (int)f.Flags.Attribute("size")!));
            Assert.Contains(flagged[0].Flags.Elements("field"), f => f.Attribute("name")!.Value == "PG" && f.Attribute("start")!.Value == "31");
        }
    }
}
