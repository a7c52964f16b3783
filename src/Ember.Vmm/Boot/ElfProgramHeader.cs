namespace Ember.Vmm.Boot;

/// <summary>One program header (System V ABI "Program Header"), widened to 64 bits for both classes.</summary>
public readonly record struct ElfProgramHeader(
    uint Type,
    uint Flags,
    ulong Offset,
    ulong VirtualAddress,
    ulong PhysicalAddress,
    ulong FileSize,
    ulong MemorySize,
    ulong Align)
{
    /// <summary>PT_LOAD: a segment to copy into memory.</summary>
    public const uint TypeLoad = 1;

    /// <summary>PT_NOTE: a run of notes.</summary>
    public const uint TypeNote = 4;
}
