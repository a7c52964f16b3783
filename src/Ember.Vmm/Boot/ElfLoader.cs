using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// Copies an ELF image's PT_LOAD segments to their physical addresses: p_filesz bytes from the
/// file, then p_memsz - p_filesz zero bytes (.bss). Each segment must lie inside guest RAM and
/// inside the window the protocol allows (at or above 1 MiB so the boot structures below stay
/// intact, and below 4 GiB for a 32-bit entry).
/// </summary>
internal static class ElfLoader
{
    /// <returns>One past the highest byte any segment occupies.</returns>
    public static ulong LoadSegments(IGuestMemory memory, ElfImage image, ulong lowest, ulong ceiling, Func<ulong, ulong, string?>? collision = null)
    {
        ulong highestEnd = 0;
        int loaded = 0;
        for (int i = 0; i < image.ProgramHeaders.Count; i++)
        {
            var header = image.ProgramHeaders[i];
            if (header.Type != ElfProgramHeader.TypeLoad || header.MemorySize == 0)
            {
                continue;
            }

            // ElfImage.Parse has checked that address + size does not overflow.
            ulong start = header.PhysicalAddress;
            ulong end = start + header.MemorySize;
            if (start >= lowest && end > ceiling)
            {
                // The image starts where it should but runs past the end of guest RAM: too little memory.
                throw new BootImageException(
                    $"the kernel needs {(end + (1UL << 20) - 1) >> 20} MiB of guest memory to load (it ends at 0x{end:x}), more than the guest has; raise --memory");
            }
            if (start < lowest || end > ceiling)
            {
                throw new BootImageException(
                    $"ELF segment {i} at 0x{start:x}-0x{end:x} is outside the loadable window 0x{lowest:x}-0x{ceiling:x}");
            }
            if (collision?.Invoke(start, end) is { } what)
                throw new BootImageException($"ELF segment {i} at 0x{start:x}-0x{end:x} overlaps {what}, which Ember places there; link the kernel elsewhere");
            GuestRam.Require(memory, start, header.MemorySize, $"ELF segment {i}");

            var bytes = image.File.Span.Slice((int)header.Offset, (int)header.FileSize);
            GuestRam.Write(memory, start, bytes, $"ELF segment {i}");
            GuestRam.Zero(memory, start + header.FileSize, header.MemorySize - header.FileSize, $"ELF segment {i} bss");
            highestEnd = Math.Max(highestEnd, end);
            loaded++;
        }

        if (loaded == 0)
        {
            throw new BootImageException("ELF image has no PT_LOAD segment with contents");
        }
        return highestEnd;
    }
}
