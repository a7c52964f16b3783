namespace Ember.Vmm.Boot;

/// <summary>One E820 range: [Address, Address + Size) of the given type.</summary>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    /// <summary>Encoded size in the zero page (struct boot_e820_entry: u64 addr, u64 size, u32 type, packed).</summary>
    public const int ZeroPageEntrySize = 20;

    /// <summary>One past the last byte; entries are validated so this never overflows.</summary>
    public ulong End => Address + Size;
}
