using System.Buffers.Binary;
using Ember.Memory;

namespace Ember.Vmm.Boot;

/// <summary>
/// What a PC BIOS leaves behind for a multiboot kernel, which small test kernels (often linked below
/// 1 MiB, at 0x8000) rely on as they do under QEMU: a real-mode IVT whose 256 vectors all point at an
/// IRET, the 8259A pair initialised (master vectors 0x08-0x0F, slave 0x70-0x77, cascade on IR2, all lines
/// masked until the kernel unmasks what it uses), and PIT counter 0 running in mode 3 at the BIOS's
/// 18.2 Hz. The PIC and PIT are set up by a few instructions the vCPU runs before the kernel's entry,
/// so the same port writes reach whichever PIC and PIT the irqchip mode provides.
/// It also says which low-memory ranges Ember itself occupies, so a kernel is loaded anywhere else.
/// </summary>
public static class MultibootFirmware
{
    /// <summary>The IRET every IVT vector points at: F000:FF00.</summary>
    public const ulong IretStub = 0xF_FF00;

    /// <summary>The 32-bit setup code the vCPU starts in, just below the IRET.</summary>
    public const ulong SetupCode = 0xF_FE00;

    private const int IvtVectors = 256;

    /// <summary>Port writes the setup code makes (PIC ICWs and masks, PIT mode and count): each is one exit.</summary>
    public const int SetupPortWrites = 13;

    /// <summary>Guest-physical ranges Ember writes for a multiboot boot, [Start, End), with what each is.</summary>
    public static IReadOnlyList<(ulong Start, ulong End, string What)> ReservedRanges { get; } =
    [
        (0, 0x500, "real-mode IVT and BIOS data area"),
        (Layout.BootGdt, Layout.BootGdt + 0x100, "boot GDT"),
        (Layout.BootInfo, Layout.BootMemoryMap + Layout.BootMemoryMapSize, "multiboot information"),
        (Layout.CommandLine, Layout.CommandLine + (ulong)Layout.CommandLineMaxSize, "kernel command line"),
        (Layout.EbdaStart, Layout.HighMemoryStart, "EBDA, ACPI tables and firmware"),
    ];

    /// <summary>The first of Ember's ranges that [start, end) overlaps, or null.</summary>
    public static (ulong Start, ulong End, string What)? Collision(ulong start, ulong end)
    {
        foreach (var range in ReservedRanges)
        {
            if (start < range.End && range.Start < end)
                return range;
        }
        return null;
    }

    /// <summary>Writes the IVT, the IRET and the setup code, which ends by jumping to <paramref name="kernelEntry"/>
    /// with EAX = the multiboot magic (EBX, the info address, is left as the loader set it).</summary>
    public static ulong Write(IGuestMemory memory, ulong kernelEntry)
    {
        Span<byte> ivt = stackalloc byte[IvtVectors * 4];
        for (int vector = 0; vector < IvtVectors; vector++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(ivt[(vector * 4)..], (ushort)(IretStub & 0xFFFF));
            BinaryPrimitives.WriteUInt16LittleEndian(ivt[(vector * 4 + 2)..], (ushort)(IretStub >> 4 & 0xF000));
        }
        GuestRam.Write(memory, 0, ivt, "real-mode IVT");
        GuestRam.Write(memory, IretStub, [0xCF], "IRET stub");
        GuestRam.Write(memory, SetupCode, SetupInstructions((uint)kernelEntry), "firmware setup code");
        return SetupCode;
    }

    /// <summary>The 32-bit setup code: ICW1-4 and masks for both 8259As, PIT counter 0 mode 3, then the kernel.</summary>
    public static byte[] SetupInstructions(uint kernelEntry)
    {
        var code = new List<byte>();
        void Out(byte port, byte value) => code.AddRange([0xB0, value, 0xE6, port]);   // mov al, value; out port, al
        Out(0x20, 0x11);   // ICW1: edge, cascade, ICW4 follows
        Out(0xA0, 0x11);
        Out(0x21, 0x08);   // ICW2: vector bases, as a PC BIOS programs them
        Out(0xA1, 0x70);
        Out(0x21, 0x04);   // ICW3: slave on IR2
        Out(0xA1, 0x02);   //       slave identity 2
        Out(0x21, 0x01);   // ICW4: 8086 mode
        Out(0xA1, 0x01);
        Out(0x21, 0xFF);   // OCW1: every line masked until the kernel unmasks it
        Out(0xA1, 0xFF);
        Out(0x43, 0x36);   // PIT counter 0: lobyte/hibyte, mode 3, binary
        Out(0x40, 0x00);   // count 0 = 65536: 1193182 Hz / 65536 = 18.2 Hz
        Out(0x40, 0x00);
        code.Add(0xB8);    // mov eax, multiboot magic
        code.AddRange(BitConverter.GetBytes(MultibootInfo.BootloaderMagic));
        code.Add(0xB9);    // mov ecx, kernel entry
        code.AddRange(BitConverter.GetBytes(kernelEntry));
        code.AddRange([0xFF, 0xE1]);   // jmp ecx
        return [.. code];
    }
}
