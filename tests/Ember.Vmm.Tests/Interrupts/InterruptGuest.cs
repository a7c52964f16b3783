using Ember.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Vmm.Tests.Interrupts;

/// <summary>
/// Building blocks for 32-bit multiboot guests that take interrupts. This host cannot emulate a 32-bit
/// protected-mode IRET, so handlers never return: they drop their frame and jump to the address the
/// main code left in <see cref="Resume"/>. Main code keeps IF clear except inside <see cref="WaitUntil"/>'s
/// STI;HLT (and explicit quiet windows), so an interrupt always lands where resuming at a loop head is right.
/// </summary>
internal static class InterruptGuest
{
    // Scratch words the host reads back.
    public const uint Counter = 0x5000;
    public const uint UnexpectedCount = 0x5004;
    public const uint Resume = 0x5008;
    public const uint NmiCount = 0x500C;
    public const uint StartTicks = 0x5010;
    public const uint EndTicks = 0x5014;
    public const uint Ready = 0x5018;
    public const uint Proceed = 0x501C;
    public const uint IdtRegister = 0x5020;
    /// <summary>EIP, CS, EFLAGS (or error code first) of the last unexpected interrupt, for diagnosis.</summary>
    public const uint UnexpectedFrame = 0x5030;

    /// <summary>256 protected-mode interrupt gates, 8 bytes each (Intel SDM vol. 3 §6.11).</summary>
    public const uint Idt = 0x4000;
    public const uint StackTop = 0x8_0000;

    /// <summary>The flat code selector the multiboot loader's GDT provides (Layout.BootGdt, boot.rst __BOOT_CS).</summary>
    private const ushort CodeSelector = 0x10;
    private const uint InterruptGate32 = 0x8E00;   // P=1, DPL=0, type 0xE in bits 15:8 of the gate's high dword
    private const int GateCount = 256;
    private const uint GateSize = 8;

    public const ushort DebugExitSuccess = 0x10;
    public const ushort DebugExitUnexpected = 0x3E;

    // 8259A pair.
    public const byte PicMasterBase = 0x20;
    public const byte PicSlaveBase = 0x28;
    private const ushort MasterCommand = 0x20, MasterData = 0x21, SlaveCommand = 0xA0, SlaveData = 0xA1;
    private const byte NonSpecificEoi = 0x20;

    // Local APIC (Intel SDM vol. 3 §11.4.1 default base) and IOAPIC (82093AA §3.1).
    private const uint LapicEoiRegister = 0xFEE0_00B0;
    private const uint LapicSpuriousVector = 0xFEE0_00F0;
    private const uint LapicLvtLint1 = 0xFEE0_0360;
    private const uint LvtMasked = 1u << 16;
    private const uint IoapicSelect = 0xFEC0_0000;
    private const uint IoapicWindow = 0xFEC0_0010;
    private const uint IoapicRedirectionBase = 0x10;
    private const uint RedirectionLevel = 1u << 15;

    /// <summary>The POST-code port: a write exits to the VMM and does nothing else.</summary>
    private const byte PostCodePort = 0x80;

    /// <summary>cli, a stack, zeroed scratch words, every gate aimed at <paramref name="unexpected"/>, then LIDT.</summary>
    public static void Prologue(Assembler a, Label unexpected)
    {
        var fill = a.CreateLabel();
        a.cli();
        a.mov(esp, StackTop);
        for (uint word = Counter; word < UnexpectedFrame + 12; word += 4)
            a.mov(__dword_ptr[word], 0);
        AddressOf(a, unexpected, esi);
        a.xor(ecx, ecx);
        a.Label(ref fill);
        WriteGate(a, ecx, esi);
        a.inc(ecx);
        a.cmp(ecx, GateCount);
        a.jb(fill);
        a.mov(__word_ptr[IdtRegister], (ushort)(GateCount * GateSize - 1));
        a.mov(__dword_ptr[IdtRegister + 2], Idt);
        a.lidt(__fword_ptr[IdtRegister]);
    }

    /// <summary>Points gate <paramref name="vector"/> at <paramref name="handler"/>; clobbers EAX, ECX, EDX, ESI.</summary>
    public static void SetGate(Assembler a, byte vector, Label handler)
    {
        AddressOf(a, handler, esi);
        a.mov(ecx, (uint)vector);
        WriteGate(a, ecx, esi);
    }

    /// <summary>
    /// Loads into <paramref name="register"/> an address that leads to <paramref name="target"/>: Iced cannot take a
    /// label's absolute address in 32-bit code, so CALL pushes the address of a JMP to the target and we pop it.
    /// </summary>
    private static void AddressOf(Assembler a, Label target, AssemblerRegister32 register)
    {
        var take = a.CreateLabel();
        a.call(take);
        a.jmp(target);
        a.Label(ref take);
        a.pop(register);
    }

    /// <summary>Gate number in <paramref name="vector"/>, handler address in <paramref name="handler"/>; clobbers EAX, EDX.</summary>
    private static void WriteGate(Assembler a, AssemblerRegister32 vector, AssemblerRegister32 handler)
    {
        a.mov(eax, handler);
        a.mov(edx, handler);
        a.and(eax, 0xFFFF);
        a.or(eax, (uint)CodeSelector << 16);
        a.mov(__dword_ptr[vector * 8 + (int)Idt], eax);
        a.and(edx, 0xFFFF_0000);
        a.or(edx, InterruptGate32);
        a.mov(__dword_ptr[vector * 8 + (int)(Idt + 4)], edx);
    }

    /// <summary>The unexpected-interrupt handler: counts, keeps the frame, exits with <see cref="DebugExitUnexpected"/>.</summary>
    public static void UnexpectedHandler(Assembler a, ref Label unexpected)
    {
        a.Label(ref unexpected);
        a.inc(__dword_ptr[UnexpectedCount]);
        for (int i = 0; i < 3; i++)
        {
            a.mov(eax, __dword_ptr[esp + 4 * i]);
            a.mov(__dword_ptr[UnexpectedFrame + 4 * (uint)i], eax);
        }
        GuestCode.Exit32(a, (byte)DebugExitUnexpected);
    }

    /// <summary>Leaves an interrupt handler without IRET: drop EIP/CS/EFLAGS and go where main code asked.</summary>
    public static void ResumeFromHandler(Assembler a)
    {
        a.add(esp, 12);
        a.jmp(__dword_ptr[Resume]);
    }

    /// <summary>Makes handlers resume at <paramref name="label"/>; clobbers EAX.</summary>
    public static void SetResume(Assembler a, Label label)
    {
        AddressOf(a, label, eax);
        a.mov(__dword_ptr[Resume], eax);
    }

    /// <summary>
    /// Halts with interrupts enabled until [<paramref name="word"/>] ≥ <paramref name="count"/>. STI's one-instruction
    /// shadow makes STI;HLT atomic, so an interrupt raised just before cannot slip past the HLT. Returns with IF clear.
    /// </summary>
    public static void WaitUntil(Assembler a, uint word, uint count)
    {
        var check = a.CreateLabel();
        var done = a.CreateLabel();
        SetResume(a, check);
        a.Label(ref check);
        a.cli();
        a.cmp(__dword_ptr[word], count);
        a.jae(done);
        a.sti();
        a.hlt();
        a.jmp(check);
        a.Label(ref done);
    }

    /// <summary>
    /// A stretch with IF set and many exits (port 0x80 writes), for an interrupt that should NOT come to
    /// arrive if it would; an interrupt here counts and resumes after the window. Returns with IF clear.
    /// </summary>
    public static void QuietWindow(Assembler a, int exits = 40)
    {
        var after = a.CreateLabel();
        SetResume(a, after);
        a.sti();
        for (int i = 0; i < exits; i++)
            a.@out(PostCodePort, al);
        a.Label(ref after);
        a.cli();
    }

    /// <summary>Reads the ACPI PM timer (3.579545 MHz) into [<paramref name="word"/>].</summary>
    public static void StampPmTimer(Assembler a, uint word)
    {
        a.mov(dx, (ushort)Layout.PmTimerBlock);
        a.@in(eax, dx);
        a.mov(__dword_ptr[word], eax);
    }

    /// <summary>Drives ISA line <paramref name="irq"/> through the test device (ports 0x2000+n).</summary>
    public static void SetLine(Assembler a, int irq, bool high)
    {
        a.mov(dx, (ushort)(Layout.TestDeviceIrqPort + irq));
        a.mov(al, high ? (byte)1 : (byte)0);
        a.@out(dx, al);
    }

    /// <summary>ICW1–ICW4 for both 8259As (vectors 0x20/0x28, slave on IR2, 8086 mode), then the masks.</summary>
    public static void InitPic(Assembler a, ushort unmaskedIrqs)
    {
        OutByte(a, MasterCommand, 0x11);     // ICW1: edge, cascade, ICW4 follows
        OutByte(a, MasterData, PicMasterBase); // ICW2: vector base
        OutByte(a, MasterData, 0x04);        // ICW3: slave on IR2
        OutByte(a, MasterData, 0x01);        // ICW4: 8086 mode, normal EOI
        OutByte(a, SlaveCommand, 0x11);
        OutByte(a, SlaveData, PicSlaveBase);
        OutByte(a, SlaveData, 0x02);         // ICW3: cascade identity 2
        OutByte(a, SlaveData, 0x01);
        byte masterMask = (byte)~(unmaskedIrqs & 0xFF);
        if ((unmaskedIrqs & 0xFF00) != 0)
            masterMask &= unchecked((byte)~(1 << 2));
        OutByte(a, MasterData, masterMask);    // OCW1
        OutByte(a, SlaveData, (byte)~(unmaskedIrqs >> 8));
    }

    /// <summary>ELCR (PIIX4, ports 0x4D0/0x4D1): the given IRQs become level-triggered.</summary>
    public static void SetElcr(Assembler a, ushort levelIrqs)
    {
        OutByte(a, 0x4D0, (byte)levelIrqs);
        OutByte(a, 0x4D1, (byte)(levelIrqs >> 8));
    }

    public static void PicEoi(Assembler a) => OutByte(a, MasterCommand, NonSpecificEoi);

    /// <summary>Software-enables the local APIC with spurious vector 0xFF (SDM vol. 3 §11.9).</summary>
    public static void EnableLapic(Assembler a) => a.mov(__dword_ptr[LapicSpuriousVector], 0x1FFu);

    public static void LapicEoi(Assembler a) => a.mov(__dword_ptr[LapicEoiRegister], 0u);

    /// <summary>
    /// LAPIC EOI, then one port write that exits to the VMM. HOST QUIRK: kvm_pvm emulates 32-bit code in
    /// batches and only acts on the KVM_EXIT_IOAPIC_EOI request an EOI raises when it next enters the guest;
    /// if the batch runs on into HLT, the vCPU sleeps with the request pending and the re-delivery never
    /// comes. The extra exit ends the batch, as any device access in a real handler would.
    /// </summary>
    public static void LapicEoiThenExit(Assembler a)
    {
        LapicEoi(a);
        a.@out(PostCodePort, al);
    }

    public static void MaskLint1(Assembler a)
    {
        a.mov(eax, __dword_ptr[LapicLvtLint1]);
        a.or(eax, LvtMasked);
        a.mov(__dword_ptr[LapicLvtLint1], eax);
    }

    /// <summary>IOAPIC pin → vector, fixed delivery, physical destination APIC 0, unmasked (82093AA §3.2.4).</summary>
    public static void ProgramIoapicPin(Assembler a, int pin, byte vector, bool level)
    {
        a.mov(__dword_ptr[IoapicSelect], IoapicRedirectionBase + 2 * (uint)pin + 1);
        a.mov(__dword_ptr[IoapicWindow], 0u);
        a.mov(__dword_ptr[IoapicSelect], IoapicRedirectionBase + 2 * (uint)pin);
        a.mov(__dword_ptr[IoapicWindow], vector | (level ? RedirectionLevel : 0));
    }

    /// <summary>PIT counter 0, mode 2 (rate generator), binary, with <paramref name="count"/> (8254 control word 0x34).</summary>
    public static void StartPitRateGenerator(Assembler a, ushort count)
    {
        OutByte(a, Layout.PitPort + 3, 0x34);
        OutByte(a, Layout.PitPort, (byte)count);
        OutByte(a, Layout.PitPort, (byte)(count >> 8));
    }

    public static void StopPit(Assembler a) => OutByte(a, Layout.PitPort + 3, 0x30);  // mode 0, no count: OUT stays low

    public static void ExitSuccess(Assembler a) => GuestCode.Exit32(a, (byte)DebugExitSuccess);

    private static void OutByte(Assembler a, int port, byte value)
    {
        a.mov(dx, (ushort)port);
        a.mov(al, value);
        a.@out(dx, al);
    }
}
