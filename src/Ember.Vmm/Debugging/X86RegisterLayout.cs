using System.Buffers.Binary;

namespace Ember.Vmm.Debugging;

/// <summary>
/// GDB's view of the x86 registers for one architecture: the order and widths of the g/G packet and the p/P
/// numbers, and how each maps onto KVM's regs, sregs and FPU state. The target description XML is generated
/// from the same table (<see cref="GdbTargetDescription"/>), so the two cannot disagree. Register names, types
/// and features follow GDB's i386 feature set (GDB manual, "i386 Features"); the control registers, EFER and
/// IA32_KERNEL_GS_BASE, which that set has no feature for, are a feature of Ember's own (<see cref="SystemFeature"/>).
/// </summary>
internal sealed class X86RegisterLayout
{
    public const string CoreFeature = "org.gnu.gdb.i386.core";
    public const string SseFeature = "org.gnu.gdb.i386.sse";
    public const string SegmentsFeature = "org.gnu.gdb.i386.segments";

    /// <summary>
    /// Control registers and EFER (and amd64's k_gs_base). GDB takes registers of a feature it does not know as they are
    /// described (name, size, type: GDB manual, "Target Description Format"), so the name is ours, not GDB's. No group is
    /// given: GDB's i386 code decides register groups itself and ignores one, so <c>info registers</c> lists them.
    /// </summary>
    public const string SystemFeature = "org.ember.gdb.x86.sys";

    private const ulong RflagsReserved1 = 0x2;
    private const ulong Cr0ProtectionEnable = 0x1;

    /// <summary>CR8 is the task-priority class, bits 0-3; the rest is reserved (Intel SDM vol. 3, §2.5).</summary>
    private const ulong Cr8Mask = 0xF;

    private readonly int[] _offsets;

    private X86RegisterLayout(GdbArchitecture architecture, IReadOnlyList<GdbRegisterDefinition> registers)
    {
        Architecture = architecture;
        Registers = registers;
        _offsets = new int[registers.Count];
        int offset = 0;
        for (int i = 0; i < registers.Count; i++)
        {
            _offsets[i] = offset;
            offset += registers[i].Bytes;
        }
        TotalBytes = offset;
    }

    public GdbArchitecture Architecture { get; }

    /// <summary>The registers in g/G order; the index is the register number of p/P.</summary>
    public IReadOnlyList<GdbRegisterDefinition> Registers { get; }

    /// <summary>Bytes in a whole g packet (twice that in hex digits).</summary>
    public int TotalBytes { get; }

    public static X86RegisterLayout For(GdbArchitecture architecture) => architecture == GdbArchitecture.Amd64 ? Amd64 : I386;

    public static readonly X86RegisterLayout Amd64 = new(GdbArchitecture.Amd64,
    [
        .. Core(
        [
            (X86Register.Rax, "rax", "int64"), (X86Register.Rbx, "rbx", "int64"), (X86Register.Rcx, "rcx", "int64"),
            (X86Register.Rdx, "rdx", "int64"), (X86Register.Rsi, "rsi", "int64"), (X86Register.Rdi, "rdi", "int64"),
            (X86Register.Rbp, "rbp", "data_ptr"), (X86Register.Rsp, "rsp", "data_ptr"),
            (X86Register.R8, "r8", "int64"), (X86Register.R9, "r9", "int64"), (X86Register.R10, "r10", "int64"),
            (X86Register.R11, "r11", "int64"), (X86Register.R12, "r12", "int64"), (X86Register.R13, "r13", "int64"),
            (X86Register.R14, "r14", "int64"), (X86Register.R15, "r15", "int64"),
            (X86Register.Rip, "rip", "code_ptr"),
        ], 64),
        .. Sse(16),
        new GdbRegisterDefinition(X86Register.FsBase, "fs_base", 64, "int", SegmentsFeature),
        new GdbRegisterDefinition(X86Register.GsBase, "gs_base", 64, "int", SegmentsFeature),
        .. SystemRegisters(64),
        new GdbRegisterDefinition(X86Register.KernelGsBase, "k_gs_base", 64, "int", SystemFeature),
    ]);

    public static readonly X86RegisterLayout I386 = new(GdbArchitecture.I386,
    [
        .. Core(
        [
            (X86Register.Rax, "eax", "int32"), (X86Register.Rcx, "ecx", "int32"), (X86Register.Rdx, "edx", "int32"),
            (X86Register.Rbx, "ebx", "int32"), (X86Register.Rsp, "esp", "data_ptr"), (X86Register.Rbp, "ebp", "data_ptr"),
            (X86Register.Rsi, "esi", "int32"), (X86Register.Rdi, "edi", "int32"),
            (X86Register.Rip, "eip", "code_ptr"),
        ], 32),
        .. Sse(8),
        .. SystemRegisters(32),
    ]);

    /// <summary>The core feature: the general registers as given, then eflags, the segment selectors and the x87 registers.</summary>
    private static IEnumerable<GdbRegisterDefinition> Core((X86Register Register, string Name, string Type)[] general, int width)
    {
        foreach (var (register, name, type) in general)
            yield return new GdbRegisterDefinition(register, name, width, type, CoreFeature);
        yield return new GdbRegisterDefinition(X86Register.Eflags, "eflags", 32, "i386_eflags", CoreFeature);
        string[] segments = ["cs", "ss", "ds", "es", "fs", "gs"];
        for (int i = 0; i < segments.Length; i++)
            yield return new GdbRegisterDefinition(X86Register.Cs + i, segments[i], 32, "int32", CoreFeature);
        for (int i = 0; i < 8; i++)
            yield return new GdbRegisterDefinition(X86Register.St0 + i, $"st{i}", 80, "i387_ext", CoreFeature);
        string[] control = ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"];
        for (int i = 0; i < control.Length; i++)
            yield return new GdbRegisterDefinition(X86Register.Fctrl + i, control[i], 32, "int", CoreFeature, "float");
    }

    private static IEnumerable<GdbRegisterDefinition> Sse(int count)
    {
        for (int i = 0; i < count; i++)
            yield return new GdbRegisterDefinition(X86Register.Xmm0 + i, $"xmm{i}", 128, "vec128", SseFeature);
        yield return new GdbRegisterDefinition(X86Register.Mxcsr, "mxcsr", 32, "i386_mxcsr", SseFeature, "vector");
    }

    /// <summary>
    /// The control registers, as wide as the mode makes them (CR8 exists in 64-bit mode only), and the 64-bit EFER MSR. Their types
    /// (<see cref="GdbTargetDescription"/>) show CR0, CR4 and EFER as their flag bits.
    /// </summary>
    private static IEnumerable<GdbRegisterDefinition> SystemRegisters(int width)
    {
        yield return new GdbRegisterDefinition(X86Register.Cr0, "cr0", width, ControlFlagsType("cr0", width), SystemFeature);
        yield return new GdbRegisterDefinition(X86Register.Cr2, "cr2", width, "int", SystemFeature);
        yield return new GdbRegisterDefinition(X86Register.Cr3, "cr3", width, "int", SystemFeature);
        yield return new GdbRegisterDefinition(X86Register.Cr4, "cr4", width, ControlFlagsType("cr4", width), SystemFeature);
        if (width == 64)
            yield return new GdbRegisterDefinition(X86Register.Cr8, "cr8", width, "int", SystemFeature);
        yield return new GdbRegisterDefinition(X86Register.Efer, "efer", 64, ControlFlagsType("efer", 64), SystemFeature);
    }

    /// <summary>The id of the flags type declared for <paramref name="register"/> at <paramref name="width"/> bits.</summary>
    public static string ControlFlagsType(string register, int width) => $"x86_{register}_{width}";

    /// <summary>Where register <paramref name="number"/> starts in a g packet's bytes.</summary>
    public int OffsetOf(int number) => _offsets[number];

    /// <summary>The whole register file in g order.</summary>
    public byte[] Pack(X86RegisterState state)
    {
        var bytes = new byte[TotalBytes];
        for (int i = 0; i < Registers.Count; i++)
            Read(state, i, bytes.AsSpan(_offsets[i], Registers[i].Bytes));
        return bytes;
    }

    /// <summary>
    /// Applies a whole G packet's bytes; false unless exactly <see cref="TotalBytes"/> long and every register took
    /// its value (see <see cref="Write"/>), and then <paramref name="state"/> is not to be used.
    /// </summary>
    public bool Unpack(X86RegisterState state, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != TotalBytes)
            return false;
        for (int i = 0; i < Registers.Count; i++)
        {
            if (!Write(state, i, bytes.Slice(_offsets[i], Registers[i].Bytes)))
                return false;
        }
        return true;
    }

    /// <summary>Register <paramref name="number"/>'s bytes, little-endian, into <paramref name="destination"/> (exactly its width).</summary>
    public void Read(X86RegisterState state, int number, Span<byte> destination)
    {
        var register = Registers[number].Register;
        switch (register)
        {
            case X86Register.Eflags:
                WriteInteger(destination, state.General.Rflags);
                break;
            case >= X86Register.Cs and <= X86Register.Gs:
                WriteInteger(destination, SegmentOf(ref state.Special, register).Selector);
                break;
            case >= X86Register.St0 and <= X86Register.St7:
                StackRegister(ref state.Fpu, register).CopyTo(destination);
                break;
            case >= X86Register.Xmm0 and <= X86Register.Xmm15:
                Xmm(ref state.Fpu, register).CopyTo(destination);
                break;
            case >= X86Register.Fctrl and <= X86Register.Fop or X86Register.Mxcsr:
                WriteInteger(destination, FpuControlValue(ref state.Fpu, register));
                break;
            default:
                WriteInteger(destination, IntegerField(state, register));
                break;
        }
    }

    /// <summary>
    /// Sets register <paramref name="number"/> from its little-endian bytes. A narrower register (i386's eax)
    /// changes only the low bits. Segment selectors change only in real mode (base = selector × 16): elsewhere a
    /// selector means a descriptor the debugger has not given, so a changed value is ignored. False (nothing changed)
    /// for a value the register cannot hold and KVM would drop without saying so (CR8's reserved bits); what KVM
    /// refuses itself (a CR0 without paging in long mode, say) fails when the state is set.
    /// </summary>
    public bool Write(X86RegisterState state, int number, ReadOnlySpan<byte> source)
    {
        var register = Registers[number].Register;
        ulong value = source.Length <= 8 ? ReadInteger(source) : 0;
        ulong mask = source.Length >= 8 ? ulong.MaxValue : (1UL << (source.Length * 8)) - 1;
        switch (register)
        {
            case X86Register.Eflags:
                state.General.Rflags = (state.General.Rflags & ~0xFFFF_FFFFUL) | (uint)value | RflagsReserved1;
                break;
            case >= X86Register.Cs and <= X86Register.Gs:
                ref Kvm.Segment segment = ref SegmentOf(ref state.Special, register);
                if (segment.Selector != (ushort)value && (state.Special.Cr0 & Cr0ProtectionEnable) == 0)
                {
                    segment.Selector = (ushort)value;
                    segment.Base = (ulong)(ushort)value << 4;
                }
                break;
            case >= X86Register.St0 and <= X86Register.St7:
                source[..10].CopyTo(StackRegister(ref state.Fpu, register));
                break;
            case >= X86Register.Xmm0 and <= X86Register.Xmm15:
                source[..16].CopyTo(Xmm(ref state.Fpu, register));
                break;
            case >= X86Register.Fctrl and <= X86Register.Fop or X86Register.Mxcsr:
                SetFpuControl(ref state.Fpu, register, (uint)value);
                break;
            case X86Register.Cr8 when (value & ~Cr8Mask) != 0:
                return false;
            default:
                ref ulong field = ref IntegerField(state, register);
                field = (field & ~mask) | (value & mask);
                break;
        }
        return true;
    }

    /// <summary>The registers GDB sees as one plain integer: where each is kept in the state KVM gives.</summary>
    private static ref ulong IntegerField(X86RegisterState state, X86Register register)
    {
        switch (register)
        {
            case X86Register.Rax: return ref state.General.Rax;
            case X86Register.Rbx: return ref state.General.Rbx;
            case X86Register.Rcx: return ref state.General.Rcx;
            case X86Register.Rdx: return ref state.General.Rdx;
            case X86Register.Rsi: return ref state.General.Rsi;
            case X86Register.Rdi: return ref state.General.Rdi;
            case X86Register.Rbp: return ref state.General.Rbp;
            case X86Register.Rsp: return ref state.General.Rsp;
            case X86Register.R8: return ref state.General.R8;
            case X86Register.R9: return ref state.General.R9;
            case X86Register.R10: return ref state.General.R10;
            case X86Register.R11: return ref state.General.R11;
            case X86Register.R12: return ref state.General.R12;
            case X86Register.R13: return ref state.General.R13;
            case X86Register.R14: return ref state.General.R14;
            case X86Register.R15: return ref state.General.R15;
            case X86Register.Rip: return ref state.General.Rip;
            case X86Register.FsBase: return ref state.Special.Fs.Base;
            case X86Register.GsBase: return ref state.Special.Gs.Base;
            case X86Register.KernelGsBase: return ref state.KernelGsBase;
            case X86Register.Cr0: return ref state.Special.Cr0;
            case X86Register.Cr2: return ref state.Special.Cr2;
            case X86Register.Cr3: return ref state.Special.Cr3;
            case X86Register.Cr4: return ref state.Special.Cr4;
            case X86Register.Cr8: return ref state.Special.Cr8;
            case X86Register.Efer: return ref state.Special.Efer;
            default: throw new ArgumentOutOfRangeException(nameof(register), register, "not an integer register");
        }
    }

    private static ref Kvm.Segment SegmentOf(ref Kvm.SpecialRegisters s, X86Register register)
    {
        switch (register)
        {
            case X86Register.Cs: return ref s.Cs;
            case X86Register.Ss: return ref s.Ss;
            case X86Register.Ds: return ref s.Ds;
            case X86Register.Es: return ref s.Es;
            case X86Register.Fs: return ref s.Fs;
            default: return ref s.Gs;
        }
    }

    /// <summary>ST(i): the 80-bit value at the start of its 16-byte FXSAVE slot.</summary>
    private static Span<byte> StackRegister(ref Kvm.FpuState fpu, X86Register register) =>
        fpu.StackRegisterBytes.Slice((register - X86Register.St0) * 16, 10);

    private static Span<byte> Xmm(ref Kvm.FpuState fpu, X86Register register) => fpu.XmmBytes.Slice((register - X86Register.Xmm0) * 16, 16);

    /// <summary>
    /// fctrl..fop from FXSAVE's fields. KVM's last_ip and last_dp are FXSAVE's 64-bit FIP and FDP; in the 32-bit
    /// layout their upper halves hold FCS and FDS, which is how GDB splits them into fiseg/fioff and foseg/fooff.
    /// </summary>
    private static ulong FpuControlValue(ref Kvm.FpuState fpu, X86Register register) => register switch
    {
        X86Register.Fctrl => fpu.Fcw,
        X86Register.Fstat => fpu.Fsw,
        X86Register.Ftag => X87TagWord.ToFull(fpu.Ftwx, fpu.Fsw, fpu.StackRegisterBytes),
        X86Register.Fiseg => (fpu.LastIp >> 32) & 0xFFFF,
        X86Register.Fioff => fpu.LastIp & 0xFFFF_FFFF,
        X86Register.Foseg => (fpu.LastDp >> 32) & 0xFFFF,
        X86Register.Fooff => fpu.LastDp & 0xFFFF_FFFF,
        X86Register.Fop => fpu.LastOpcode & 0x7FFUL,
        X86Register.Mxcsr => fpu.Mxcsr,
        _ => 0,
    };

    private static void SetFpuControl(ref Kvm.FpuState fpu, X86Register register, uint value)
    {
        switch (register)
        {
            case X86Register.Fctrl: fpu.Fcw = (ushort)value; break;
            case X86Register.Fstat: fpu.Fsw = (ushort)value; break;
            case X86Register.Ftag: fpu.Ftwx = X87TagWord.ToAbridged((ushort)value); break;
            case X86Register.Fiseg: fpu.LastIp = (fpu.LastIp & 0xFFFF_FFFF) | ((ulong)(value & 0xFFFF) << 32); break;
            case X86Register.Fioff: fpu.LastIp = (fpu.LastIp & ~0xFFFF_FFFFUL) | value; break;
            case X86Register.Foseg: fpu.LastDp = (fpu.LastDp & 0xFFFF_FFFF) | ((ulong)(value & 0xFFFF) << 32); break;
            case X86Register.Fooff: fpu.LastDp = (fpu.LastDp & ~0xFFFF_FFFFUL) | value; break;
            case X86Register.Fop: fpu.LastOpcode = (ushort)(value & 0x7FF); break;
            case X86Register.Mxcsr: fpu.Mxcsr = value; break;
        }
    }

    private static void WriteInteger(Span<byte> destination, ulong value)
    {
        Span<byte> all = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(all, value);
        all[..Math.Min(8, destination.Length)].CopyTo(destination);
    }

    private static ulong ReadInteger(ReadOnlySpan<byte> source)
    {
        Span<byte> all = stackalloc byte[8];
        source[..Math.Min(8, source.Length)].CopyTo(all);
        return BinaryPrimitives.ReadUInt64LittleEndian(all);
    }
}
