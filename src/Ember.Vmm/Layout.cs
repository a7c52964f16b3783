using Ember.Memory;

namespace Ember.Vmm;

/// <summary>
/// The x86_64 guest's fixed map: every guest physical address, I/O port and IRQ the VMM
/// hard-wires, in one place (DESIGN.md principle 14). Nothing outside this class should spell
/// one of these numbers.
/// </summary>
/// <remarks>
/// Low memory, as the loaders use it:
/// <code>
/// 0x0000_0000  real-mode IVT and BIOS data area (left alone; some guests peek at it)
/// 0x0000_0500  boot GDT
/// 0x0000_6000  boot information page (PVH start info or multiboot info, memory map, module list)
/// 0x0000_7000  Linux zero page (struct boot_params)
/// 0x0000_8000  boot stack (grows down from 0x8FF0)
/// 0x0000_9000  identity-map page tables: PML4, PDPT at 0xA000, four PDs at 0xB000..0xEFFF
/// 0x0002_0000  kernel command line
/// 0x0009_FC00  EBDA / VGA hole / option ROMs / BIOS: reserved in the E820 map up to 1 MiB
/// 0x000E_0000  ACPI RSDP and tables, up to 0xFFFFF
/// 0x0010_0000  kernel (1 MiB); initrd at the top of low RAM
/// </code>
/// Above that: RAM up to 3 GiB, the 32-bit MMIO hole from 3 GiB to 4 GiB (PCI MMIO, IOAPIC,
/// LAPIC, test device), and the rest of RAM from 4 GiB.
/// </remarks>
public static class Layout
{
    // ---- Sizes ------------------------------------------------------------------------------

    /// <summary>The x86 base page size; loaders align the initrd and boot modules to it.</summary>
    public const ulong PageSize = 0x1000;

    public const ulong OneMiB = 0x10_0000;
    public const ulong OneGiB = 0x4000_0000;
    public const ulong FourGiB = 0x1_0000_0000;

    // ---- Low memory: boot structures ---------------------------------------------------------

    /// <summary>
    /// Boot GDT. 0x500 is the first byte after the BIOS data area (0x400-0x4FF), free on a PC.
    /// Six 8-byte slots: null, null, code (0x10), data (0x18), TSS (0x20, 16 bytes in long mode).
    /// The selectors 0x10/0x18 are the ones Linux Documentation/arch/x86/boot.rst asks for
    /// (__BOOT_CS/__BOOT_DS) in its 32-bit and 64-bit boot protocols.
    /// </summary>
    public const ulong BootGdt = 0x500;

    /// <summary>
    /// Boot information page for the 32-bit entry protocols (PVH start info or multiboot info and
    /// the structures they point to). Only one protocol is used per boot, so they share the page.
    /// </summary>
    public const ulong BootInfo = 0x6000;

    /// <summary>PVH: struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), EBX at entry.</summary>
    public const ulong PvhStartInfo = BootInfo;

    /// <summary>PVH: the hvm_modlist_entry array (one entry per module; we pass at most the initrd).</summary>
    public const ulong PvhModuleList = BootInfo + 0x100;

    /// <summary>Multiboot v1: the multiboot_info structure, EBX at entry (Multiboot 0.6.96 §3.3).</summary>
    public const ulong MultibootInfo = BootInfo;

    /// <summary>Multiboot v1: the module list (16 bytes per module).</summary>
    public const ulong MultibootModuleList = BootInfo + 0x100;

    /// <summary>Multiboot v1: module command-line strings.</summary>
    public const ulong MultibootModuleStrings = BootInfo + 0x200;

    /// <summary>Multiboot v1: the boot loader name string (info flag bit 9).</summary>
    public const ulong MultibootLoaderName = BootInfo + 0x300;

    /// <summary>
    /// Memory map for the 32-bit protocols (PVH hvm_memmap_table_entry or multiboot mmap entries,
    /// both 24 bytes). 0xC00 bytes hold 128 entries, the E820 cap, and end exactly at the zero page.
    /// </summary>
    public const ulong BootMemoryMap = BootInfo + 0x400;

    /// <summary>Bytes available for <see cref="BootMemoryMap"/>.</summary>
    public const ulong BootMemoryMapSize = 0xC00;

    /// <summary>Linux zero page (struct boot_params, 4 KiB); RSI at the 64-bit entry (boot.rst "64-bit BOOT PROTOCOL").</summary>
    public const ulong ZeroPage = 0x7000;

    /// <summary>Initial stack pointer: top of the free page between the zero page and the page tables, 16-aligned.</summary>
    public const ulong BootStackPointer = 0x8FF0;

    /// <summary>PML4 of the boot identity map; the value loaded into CR3.</summary>
    public const ulong Pml4 = 0x9000;

    /// <summary>The one PDPT, covering the first 512 GiB; we fill its first four entries.</summary>
    public const ulong Pdpt = 0xA000;

    /// <summary>First of four page directories (0xB000..0xEFFF), 2 MiB pages, identity-mapping 0-4 GiB.</summary>
    public const ulong PageDirectories = 0xB000;

    /// <summary>How many page directories (one per GiB) the boot identity map uses.</summary>
    public const int PageDirectoryCount = 4;

    /// <summary>Kernel command line, NUL-terminated.</summary>
    public const ulong CommandLine = 0x20000;

    /// <summary>Maximum command-line bytes including the terminating NUL (the region 0x20000-0x2FFFF).</summary>
    public const int CommandLineMaxSize = 0x10000;

    /// <summary>
    /// Start of the legacy reserved area: the top 1 KiB of conventional memory is the EBDA, then the
    /// VGA window (0xA0000), option ROMs and the BIOS (to 0xFFFFF). Reported as reserved in E820.
    /// </summary>
    public const ulong EbdaStart = 0x9_FC00;

    /// <summary>ACPI region: the RSDP must sit on a 16-byte boundary in 0xE0000-0xFFFFF (ACPI 6.x §5.2.5.1).</summary>
    public const ulong AcpiStart = 0xE_0000;

    /// <summary>One past the ACPI region; also where the legacy reserved area ends.</summary>
    public const ulong AcpiEnd = 0x10_0000;

    /// <summary>Where the RSDP is written.</summary>
    public const ulong Rsdp = AcpiStart;

    /// <summary>
    /// Start of "high" memory. bzImage protected-mode kernels load here (boot.rst: LOADED_HIGH
    /// kernels go at 0x100000); ELF segments must start at or above it so that they cannot
    /// overwrite the boot structures below.
    /// </summary>
    public const ulong HighMemoryStart = OneMiB;

    /// <summary>Load address of a bzImage's protected-mode kernel.</summary>
    public const ulong KernelLoadAddress = HighMemoryStart;

    // ---- The 32-bit MMIO hole ----------------------------------------------------------------

    /// <summary>RAM below 4 GiB stops here; the 1 GiB above is the MMIO hole.</summary>
    public const ulong MmioHoleStart = 0xC000_0000;

    /// <summary>
    /// The PCI root bridge's 32-bit memory window, where BARs are placed: from 16 MiB into the hole (the
    /// boot timer keeps the first page) up to the ECAM region.
    /// </summary>
    public const ulong PciMmio32Start = MmioHoleStart + 0x100_0000;

    /// <summary>Size of <see cref="PciMmio32Start"/>'s window (496 MiB, ending at <see cref="PciEcamBase"/>).</summary>
    public const ulong PciMmio32Size = PciEcamBase - PciMmio32Start;

    /// <summary>
    /// Where the PCI root bridge's 64-bit memory window (64-bit BARs) starts: the first 1 GiB boundary above
    /// both 4 GiB and the end of RAM, so it never overlaps guest memory whatever its size.
    /// </summary>
    public static ulong PciMmio64Start(ulong memorySize)
    {
        var ram = RamRegions(memorySize);
        ulong ramEnd = Math.Max(FourGiB, ram[^1].Start.Value + ram[^1].Size);
        if (ramEnd > ulong.MaxValue - OneGiB - PciMmio64Size)
            throw new ArgumentOutOfRangeException(nameof(memorySize), memorySize, "no room for the 64-bit PCI window above RAM");
        return (ramEnd + (OneGiB - 1)) & ~(OneGiB - 1);
    }

    /// <summary>
    /// Size of the 64-bit PCI window (64 GiB). Not yet in the DSDT's PCI0 _CRS: no device has a 64-bit BAR;
    /// the one that does adds a QWordMemory for it.
    /// </summary>
    public const ulong PciMmio64Size = 64 * OneGiB;

    /// <summary>
    /// PCI Express enhanced configuration space (ECAM) for bus 0, 1 MiB, listed in the MCFG table and
    /// reserved as a motherboard resource in the DSDT. 256 MiB-aligned, as most firmware places it.
    /// </summary>
    public const ulong PciEcamBase = 0xE000_0000;

    /// <summary>The buses the ECAM region covers: only bus 0 (the root bus) exists.</summary>
    public const int PciBusCount = 1;

    /// <summary>
    /// Boot timer: a write-only MMIO scratch register the guest's init can poke to mark "booted"
    /// (Firecracker-style boot-time measurement). First page of the hole.
    /// </summary>
    public const ulong BootTimer = MmioHoleStart;

    /// <summary>Size of the boot timer window.</summary>
    public const ulong BootTimerSize = PageSize;

    /// <summary>IOAPIC MMIO base (82093AA §3.0 default, also in the MADT).</summary>
    public const ulong IoApicBase = 0xFEC0_0000;

    /// <summary>Intel VMX: one page for the EPT identity map (KVM_SET_IDENTITY_MAP_ADDR), just below the real-mode TSS.</summary>
    public const ulong IdentityMapPage = 0xFEFF_C000;

    /// <summary>Intel VMX: three pages for the real-mode TSS (KVM_SET_TSS_ADDR), below the test MMIO buffer.</summary>
    public const ulong RealModeTss = 0xFEFF_D000;

    /// <summary>IOAPIC register window size.</summary>
    public const ulong IoApicSize = 0x1000;

    /// <summary>IOAPIC ID programmed into the device and reported in the MADT.</summary>
    public const byte IoApicId = 0;

    /// <summary>Number of IOAPIC pins (82093AA: 24 redirection entries), GSI 0..23.</summary>
    public const int IoApicPins = 24;

    /// <summary>Local APIC MMIO base (Intel SDM vol. 3 §11.4.1 default; reported in the MADT).</summary>
    public const ulong LocalApicBase = 0xFEE0_0000;

    /// <summary>pc-testdev I/O memory window used by kvm-unit-tests (64 KiB).</summary>
    public const ulong TestDeviceMmio = 0xFF00_0000;

    /// <summary>Size of <see cref="TestDeviceMmio"/>.</summary>
    public const ulong TestDeviceMmioSize = 0x1_0000;

    /// <summary>End of the MMIO hole; RAM resumes here.</summary>
    public const ulong MmioHoleEnd = FourGiB;

    /// <summary>RAM above the hole starts at 4 GiB.</summary>
    public const ulong HighRamStart = FourGiB;

    // ---- I/O ports and IRQs ------------------------------------------------------------------

    /// <summary>Master 8259A PIC command/data ports (0x20-0x21).</summary>
    public const ushort PicMasterPort = 0x20;

    /// <summary>Slave 8259A PIC command/data ports (0xA0-0xA1).</summary>
    public const ushort PicSlavePort = 0xA0;

    /// <summary>The master 8259A's input 2 carries the slave's output (IRQ 8-15), so no device can use IRQ 2.</summary>
    public const byte PicCascadeIrq = 2;

    /// <summary>8254 PIT counters and control word (0x40-0x43).</summary>
    public const ushort PitPort = 0x40;

    /// <summary>8259A edge/level control registers (ELCR), one byte per PIC at 0x4D0 and 0x4D1.</summary>
    public const ushort ElcrPort = 0x4D0;

    /// <summary>PIT output 0 is wired to ISA IRQ 0 (routed to IOAPIC pin 2 by the MADT override).</summary>
    public const byte PitIrq = 0;

    /// <summary>Port 0x61: NMI status and PIT channel 2 gate (speaker), read by Linux's PIT calibration.</summary>
    public const ushort SystemControlPortB = 0x61;

    /// <summary>i8042 data port.</summary>
    public const ushort I8042DataPort = 0x60;

    /// <summary>i8042 command/status port; writing 0xFE pulses the CPU reset line.</summary>
    public const ushort I8042CommandPort = 0x64;

    /// <summary>i8042 command that pulses the reset line; also the FADT RESET_VALUE.</summary>
    public const byte I8042ResetCommand = 0xFE;

    /// <summary>Keyboard IRQ of the i8042.</summary>
    public const byte I8042KeyboardIrq = 1;

    /// <summary>CMOS RTC index port (0x70) and data port (0x71).</summary>
    public const ushort RtcPort = 0x70;

    /// <summary>RTC interrupt (ISA IRQ 8).</summary>
    public const byte RtcIrq = 8;

    /// <summary>pc-testdev I/O port used by kvm-unit-tests (4 bytes at 0xE0).</summary>
    public const ushort TestDevicePort = 0xE0;

    /// <summary>pc-testdev "flush page" port (4 bytes at 0xE4).</summary>
    public const ushort TestDeviceFlushPagePort = 0xE4;

    /// <summary>pc-testdev IRQ-line port block at 0x2000 (one byte per IRQ line, 24 lines).</summary>
    public const ushort TestDeviceIrqPort = 0x2000;

    /// <summary>Number of IRQ lines the pc-testdev IRQ block controls.</summary>
    public const ushort TestDeviceIrqPortCount = 24;

    /// <summary>isa-debug-exit: a write of v terminates the VM with exit status (v &lt;&lt; 1) | 1.</summary>
    public const ushort DebugExitPort = 0xF4;

    /// <summary>QEMU fw_cfg selector (0x510, 16-bit) and data (0x511) ports.</summary>
    public const ushort FwCfgPort = 0x510;

    /// <summary>fw_cfg DMA address register (0x514, 8 bytes big-endian).</summary>
    public const ushort FwCfgDmaPort = 0x514;

    /// <summary>
    /// ACPI fixed-hardware register block (ACPI 6.x §4.8). One 16-byte I/O block holds the
    /// PM1a event block, the PM1a control block and the PM timer, at the offsets below.
    /// </summary>
    public const ushort PmBlockBase = 0x600;

    /// <summary>Size of the PM block.</summary>
    public const ushort PmBlockSize = 0x10;

    /// <summary>PM1a_EVT_BLK offset: PM1_STS (2 bytes) then PM1_EN (2 bytes) (ACPI 6.x §4.8.3.1).</summary>
    public const ushort Pm1EventBlockOffset = 0x0;

    /// <summary>PM1_EVT_LEN: status + enable, 2 bytes each.</summary>
    public const byte Pm1EventBlockLength = 4;

    /// <summary>PM1a_CNT_BLK offset: PM1_CNT, 2 bytes (SCI_EN, SLP_TYP, SLP_EN; ACPI 6.x §4.8.3.2).</summary>
    public const ushort Pm1ControlBlockOffset = 0x4;

    /// <summary>PM1_CNT_LEN.</summary>
    public const byte Pm1ControlBlockLength = 2;

    /// <summary>PM_TMR_BLK offset: the 3.579545 MHz ACPI PM timer, 32 bits wide (TMR_VAL_EXT).</summary>
    public const ushort PmTimerBlockOffset = 0x8;

    /// <summary>PM_TMR_LEN (always 4, ACPI 6.x §5.2.9).</summary>
    public const byte PmTimerBlockLength = 4;

    /// <summary>Absolute port of PM1a_EVT_BLK.</summary>
    public const ushort Pm1EventBlock = PmBlockBase + Pm1EventBlockOffset;

    /// <summary>Absolute port of PM1a_CNT_BLK.</summary>
    public const ushort Pm1ControlBlock = PmBlockBase + Pm1ControlBlockOffset;

    /// <summary>Absolute port of PM_TMR_BLK.</summary>
    public const ushort PmTimerBlock = PmBlockBase + PmTimerBlockOffset;

    /// <summary>SCI interrupt: ISA IRQ 9, level-triggered active high (MADT override, FADT SCI_INT).</summary>
    public const byte SciIrq = 9;

    /// <summary>COM1 16550A base port (8 registers).</summary>
    public const ushort Com1Port = 0x3F8;

    /// <summary>COM1 register window length.</summary>
    public const ushort Com1PortCount = 8;

    /// <summary>COM1 interrupt (ISA IRQ 4).</summary>
    public const byte Com1Irq = 4;

    /// <summary>
    /// The GSIs PCI INTx lines are wired to, slot by slot round-robin (<see cref="Devices.PciTopology.IntxGsiForSlot"/>,
    /// described by the DSDT's _PRT): ISA IRQs no platform device uses (0 PIT, 1 keyboard, 2 cascade, 4 COM1,
    /// 8 RTC, 9 SCI are taken), below 16 so that the 8259A reaches them in user-space irqchip mode, and
    /// level-triggerable there (ELCR bits 5, 10 and 11 are writable).
    /// </summary>
    public static ReadOnlySpan<byte> PciIntxGsis => [5, 10, 11];

    /// <summary>
    /// First port of the PCI I/O space the allocator hands out (I/O BARs). Ports below it are the legacy ISA
    /// range, where the platform's fixed devices above sit (most ISA cards decoded only 10 address bits).
    /// </summary>
    public const ushort PciIoStart = 0x1000;

    /// <summary>Size of the PCI I/O space from <see cref="PciIoStart"/> to the top of the 64 Ki ports.</summary>
    public const uint PciIoSize = 0x1_0000 - PciIoStart;

    /// <summary>PCI configuration mechanism #1 address port (0xCF8) and data port (0xCFC).</summary>
    public const ushort PciConfigAddressPort = 0xCF8;

    /// <summary>PCI configuration data port.</summary>
    public const ushort PciConfigDataPort = 0xCFC;

    // ---- RAM ---------------------------------------------------------------------------------

    /// <summary>
    /// Splits <paramref name="memorySize"/> bytes of guest RAM around the MMIO hole: up to 3 GiB
    /// from address 0, and whatever is left from 4 GiB upwards.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is zero, or so large that the high
    /// region would run past the 64-bit address space.</exception>
    public static IReadOnlyList<GuestMemoryRegion> RamRegions(ulong memorySize)
    {
        ArgumentOutOfRangeException.ThrowIfZero(memorySize);
        if (memorySize <= MmioHoleStart)
        {
            return [new GuestMemoryRegion(GuestAddress.Zero, memorySize)];
        }

        ulong highSize = memorySize - MmioHoleStart;
        if (highSize > ulong.MaxValue - HighRamStart)
        {
            throw new ArgumentOutOfRangeException(nameof(memorySize), memorySize, "memory size overflows the guest address space");
        }
        return
        [
            new GuestMemoryRegion(GuestAddress.Zero, MmioHoleStart),
            new GuestMemoryRegion(new GuestAddress(HighRamStart), highSize),
        ];
    }
}
