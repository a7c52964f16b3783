namespace Ember.TestGuests;

/// <summary>Where test guests keep their system structures in guest physical memory.</summary>
public static class TestGuestLayout
{
    /// <summary>GDT: null, 64-bit code (0x08), data (0x10), 32-bit code (0x18).</summary>
    public const ulong Gdt = 0x500;
    public const ushort Code64Selector = 0x08;
    public const ushort DataSelector = 0x10;
    public const ushort Code32Selector = 0x18;

    /// <summary>Long-mode IDT (256 16-byte gates) or protected-mode IDT (256 8-byte gates).</summary>
    public const ulong Idt = 0x2000;

    /// <summary>PML4, the PDPT, four page directories identity-mapping 4 GiB with 2 MiB pages, and a spare one.</summary>
    public const ulong Pml4 = 0x9000;
    public const ulong Pdpt = 0xA000;
    public const ulong PageDirectory = 0xB000;
    public const ulong SparePageDirectory = 0xF000;

    /// <summary>Scratch words test guests count in.</summary>
    public const ulong Counter = 0x3000;

    /// <summary>Where real-mode interrupt handlers go (segment 0).</summary>
    public const ulong RealModeHandlers = 0x1800;

    /// <summary>Where protected- and long-mode interrupt handlers go.</summary>
    public const ulong Handlers = 0x18000;

    /// <summary>Real-mode code origin (segment 0).</summary>
    public const ulong RealModeCode = 0x1000;

    /// <summary>Protected- and long-mode code origin.</summary>
    public const ulong Code = 0x10000;

    /// <summary>Initial stack top for all modes.</summary>
    public const ulong StackTop = 0x8000;

    /// <summary>Top of the long-mode stack (below 1 MiB, above the code).</summary>
    public const ulong LongStackTop = 0x80000;

    /// <summary>Intel needs three pages for the real-mode TSS; out of the way of RAM.</summary>
    public const ulong TssAddress = 0xFFFB_D000;

    public const ulong DefaultMemorySize = 16 * 1024 * 1024;
}
