using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Boot;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// A small 64-bit guest for debugger tests, booted as a bzImage through Ember's 64-bit entry (long mode, identity
/// paging set up by the loader), with every place a test names kept as a symbol:
/// <code>
/// start:        counter = 0x1122334455667788; rdi = 14
///               call compute            (rax = 3 * rdi)
/// after_call:   result = rax; call compute again
///               watched = 7             (one byte)
/// store_done:   rbx = DefaultExitValue
/// choose_exit:  write bl to the debug-exit port; halt
/// compute:      lea rax, [rdi + rdi*2]; ret
/// </code>
/// compute runs twice, so a breakpoint a debugger left behind would trap the second call.
/// </summary>
internal sealed class DebugGuest
{
    public const byte DefaultExitValue = 0x21;
    public const ulong CounterValue = 0x1122_3344_5566_7788;
    public const byte WatchedValue = 7;

    /// <summary>Where the code runs: the bzImage's 64-bit entry, 0x200 into the kernel loaded at 1 MiB.</summary>
    public const ulong Origin = 0x10_0000 + BzImage.Entry64Offset;

    private DebugGuest(byte[] code, Dictionary<string, ulong> symbols)
    {
        Code = code;
        Symbols = symbols;
    }

    public byte[] Code { get; }

    public IReadOnlyDictionary<string, ulong> Symbols { get; }

    public ulong this[string symbol] => Symbols[symbol];

    public static DebugGuest Build()
    {
        var a = new Assembler(64);
        var labels = new Dictionary<string, Label>();
        Label L(string name) => labels.TryGetValue(name, out var label) ? label : labels[name] = a.CreateLabel(name);
        void Here(string name)
        {
            var label = L(name);
            a.Label(ref label);
            labels[name] = label;
        }

        Here("start");
        a.mov(rax, CounterValue);
        a.mov(__qword_ptr[L("counter")], rax);
        a.mov(rdi, 14);
        a.call(L("compute"));
        Here("after_call");
        a.mov(__qword_ptr[L("result")], rax);
        a.call(L("compute"));
        a.mov(__byte_ptr[L("watched")], WatchedValue);
        Here("store_done");
        a.mov(ebx, DefaultExitValue);
        Here("choose_exit");
        a.mov(eax, ebx);
        a.mov(dx, 0xF4);
        a.@out(dx, al);
        Here("halt");
        a.hlt();
        a.jmp(L("halt"));
        Here("compute");
        a.lea(rax, __[rdi + rdi * 2]);
        a.ret();
        Here("counter");
        a.dq(0UL);
        Here("result");
        a.dq(0UL);
        Here("watched");
        a.db(0);
        a.db(0, 0, 0, 0, 0, 0, 0);

        using var stream = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(stream), Origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var symbols = labels.ToDictionary(l => l.Key, l => result.GetLabelRIP(l.Value));
        return new DebugGuest(stream.ToArray(), symbols);
    }

    /// <summary>The guest as a bzImage file Ember boots in long mode.</summary>
    public byte[] BuildKernel()
    {
        var kernel = new byte[(int)BzImage.Entry64Offset + Code.Length];
        Code.CopyTo(kernel, (int)BzImage.Entry64Offset);
        int length = (kernel.Length + 15) / 16 * 16;
        return new BzImageBuilder
        {
            Code = kernel,
            KernelLength = length,
            PayloadOffset = 0,
            PayloadLength = 0,
            InitSize = 0,
            PrefAddress = 0x10_0000,
        }.Build();
    }

    /// <summary>The symbol file GDB loads: every label, functions for code and objects for data.</summary>
    public byte[] BuildSymbolFile()
    {
        string[] data = ["counter", "result", "watched"];
        var symbols = Symbols.OrderBy(s => s.Value).Select(s => new ElfSymbolFile.Symbol(s.Key, s.Value,
            s.Key switch { "compute" => 5, "counter" or "result" => 8, "watched" => 1, _ => 0 }, !data.Contains(s.Key))).ToList();
        return ElfSymbolFile.Build(Origin, Code, symbols);
    }
}
