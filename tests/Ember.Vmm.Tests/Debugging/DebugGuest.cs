using Ember.Vmm.Boot;
using Ember.Vmm.Tests.Boot;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>
/// A small 64-bit guest for debugger tests, booted as a bzImage through Ember's 64-bit entry (long mode, identity
/// paging set up by the loader), with every place a test names kept as a symbol:
/// <code>
/// start:        build its own 4-level tables at <see cref="Tables"/> (0-16 MiB identity, 2 MiB pages; the 4 KiB page
///               <see cref="MappedLinear"/> -> <see cref="MappedPhysical"/>, the next one -> <see cref="NextMappedPhysical"/>,
///               the one after unmapped, and <see cref="AliasLinear"/> -> the code's page) and load CR3; write
///               <see cref="MappedValue"/> at physical MappedPhysical
/// paged:        counter = 0x1122334455667788; rdi = 14
///               call compute            (rax = 3 * rdi)
/// after_call:   result = rax; call compute again
///               watched = 7             (one byte)
/// store_done:   seen_cr2 = cr2; seen_cr8 = cr8 (what a debugger set there, the guest sees); rbx = DefaultExitValue
/// call_alias:   call compute through its alias, <see cref="ComputeAlias"/>
/// choose_exit:  write bl to the debug-exit port; halt
/// compute:      lea rax, [rdi + rdi*2]; ret
/// </code>
/// compute runs twice through its own address, so a breakpoint a debugger left behind would trap the second call.
/// </summary>
internal sealed class DebugGuest
{
    public const byte DefaultExitValue = 0x21;
    public const ulong CounterValue = 0x1122_3344_5566_7788;
    public const byte WatchedValue = 7;

    /// <summary>The guest's own page tables (PML4, PDPT, two PDs, one PT), above the code and below the mapped pages.</summary>
    public const ulong Tables = 0x80_0000;

    /// <summary>A linear page the guest maps somewhere else (and outside RAM as a physical address: 64 MiB machines).</summary>
    public const ulong MappedLinear = 0x4000_0000;

    /// <summary>Where <see cref="MappedLinear"/> lands, and where the page after it lands (below: pages out of order).</summary>
    public const ulong MappedPhysical = 0x90_0000, NextMappedPhysical = 0x70_0000;

    /// <summary>The page after those two: not mapped (its PTE is zero).</summary>
    public const ulong UnmappedLinear = MappedLinear + 0x2000;

    /// <summary>A second linear address of the code's first page (<see cref="CodePage"/>): compute is called through it once.</summary>
    public const ulong AliasLinear = MappedLinear + 0x3000;

    /// <summary>The physical (and identity-mapped) page the code starts in; compute must lie in it too.</summary>
    public const ulong CodePage = Origin & ~0xFFFUL;

    /// <summary>What the guest writes at physical <see cref="MappedPhysical"/>: a debugger reads it at <see cref="MappedLinear"/>.</summary>
    public const ulong MappedValue = 0xFEED_FACE_CAFE_BEEF;

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

    /// <summary>compute at its alias: the same physical bytes as compute, at another linear address.</summary>
    public ulong ComputeAlias => AliasLinear + (Symbols["compute"] - CodePage);

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
        BuildOwnPageTables(a);
        Here("paged");
        a.mov(rax, CounterValue);
        a.mov(__qword_ptr[L("counter")], rax);
        a.mov(rdi, 14);
        a.call(L("compute"));
        Here("after_call");
        a.mov(__qword_ptr[L("result")], rax);
        a.call(L("compute"));
        a.mov(__byte_ptr[L("watched")], WatchedValue);
        Here("store_done");
        a.mov(rax, cr2);
        a.mov(__qword_ptr[L("seen_cr2")], rax);
        a.mov(rax, cr8);
        a.mov(__qword_ptr[L("seen_cr8")], rax);
        a.mov(ebx, DefaultExitValue);
        Here("call_alias");
        a.lea(rax, __[L("compute")]);
        a.add(rax, (int)(AliasLinear - CodePage));
        a.call(rax);
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
        Here("seen_cr2");
        a.dq(0UL);
        Here("seen_cr8");
        a.dq(0UL);

        using var stream = new MemoryStream();
        var result = a.Assemble(new StreamCodeWriter(stream), Origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var symbols = labels.ToDictionary(l => l.Key, l => result.GetLabelRIP(l.Value));
        if ((symbols["compute"] & ~0xFFFUL) != CodePage)
            throw new InvalidOperationException("compute left the code's first page: its alias mapping no longer covers it");
        return new DebugGuest(stream.ToArray(), symbols);
    }

    /// <summary>The tables the <c>start</c> code writes (through the loader's identity map) and switches to.</summary>
    private static void BuildOwnPageTables(Assembler a)
    {
        const ulong Present = 1, Writable = 2, PageSize = 0x80;
        const ulong Pml4 = Tables, Pdpt = Tables + 0x1000, LowPd = Tables + 0x2000, HighPd = Tables + 0x3000, Pt = Tables + 0x4000;
        void Store(ulong address, ulong value)
        {
            a.mov(rax, value);
            a.mov(rdx, address);
            a.mov(__qword_ptr[rdx], rax);
        }
        Store(Pml4, Pdpt | Present | Writable);
        Store(Pdpt, LowPd | Present | Writable);
        Store(Pdpt + 8, HighPd | Present | Writable);  // 1 GiB: MappedLinear
        for (ulong i = 0; i < 8; i++)
            Store(LowPd + i * 8, (i << 21) | Present | Writable | PageSize);
        Store(HighPd, Pt | Present | Writable);
        Store(Pt, MappedPhysical | Present | Writable);
        Store(Pt + 8, NextMappedPhysical | Present | Writable);
        Store(Pt + 24, CodePage | Present);  // read-only, as kernel text is
        a.mov(rax, Pml4);
        a.mov(cr3, rax);
        Store(MappedPhysical, MappedValue);
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
        string[] data = ["counter", "result", "watched", "seen_cr2", "seen_cr8"];
        var symbols = Symbols.OrderBy(s => s.Value).Select(s => new ElfSymbolFile.Symbol(s.Key, s.Value,
            s.Key switch { "compute" => 5, "counter" or "result" or "seen_cr2" or "seen_cr8" => 8, "watched" => 1, _ => 0 }, !data.Contains(s.Key))).ToList();
        return ElfSymbolFile.Build(Origin, Code, symbols);
    }
}
