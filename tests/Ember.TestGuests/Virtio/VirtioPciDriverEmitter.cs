using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// The part of every virtio test guest that is the same for each device: a 32-bit, polling virtio-pci driver. It finds
/// the function on PCI bus 0 through configuration mechanism #1, walks its virtio capabilities from 0x34 (virtio 1.2
/// §4.1.4), resolves (and if asked assigns) the BARs they name, brings the device up (§3.1.1: reset, ACKNOWLEDGE,
/// DRIVER, VERSION_1, RING_PACKED when the options ask, and the options' DriverFeatures, FEATURES_OK), sets up split
/// queues (or packed ones, §2.8) whose rings sit in <see cref="VirtioGuestLayout"/> with interrupts suppressed
/// (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7, or the driver event suppression's DISABLE, §2.8.10; MSI-X vector NO_VECTOR), sets DRIVER_OK, rings doorbells (cap.offset + queue_notify_off × notify_off_multiplier, §4.1.4.4, the
/// queue index as a 16-bit write, §4.1.5.2, or a dword when the options ask) and polls used rings (§2.7.8; packed: the
/// chain's first descriptor, in VirtioPciDriverEmitter.Packed.cs). It reports on COM1 and ends on the debug-exit port
/// with a <see cref="VirtioGuestOutcome"/>. The device's own work is emitted between <see cref="DriverOk"/> and
/// <see cref="Succeed"/> by the guest that owns this emitter; subroutines use the stack at
/// <see cref="VirtioGuestLayout.StackTop"/>.
/// </summary>
internal sealed partial class VirtioPciDriverEmitter
{
    private const ushort ConfigAddressPort = 0xCF8, ConfigDataPort = 0xCFC;
    private const uint ConfigEnable = 0x8000_0000;
    private const uint VirtioVendor = 0x1AF4, ModernDeviceIdBase = 0x1040;
    private const byte VendorSpecificCapability = 0x09;
    private const byte CommonCfg = 1, NotifyCfg = 2, IsrCfg = 3, DeviceCfg = 4;
    private const ushort PicMasterCommand = 0x20, PicSlaveCommand = 0xA0, ElcrPort = 0x4D0;
    private const byte Ocw3ReadIrr = 0x0A;
    private const ushort CommandMemorySpace = 1 << 1, CommandBusMaster = 1 << 2;
    private const uint StatusCapabilityList = 1 << 20;  // Status bit 4, in the dword at 0x04
    private const byte Acknowledge = 1, Driver = 2, DriverOkStatus = 4, FeaturesOk = 8, DeviceNeedsReset = 0x40;
    private const int CapabilityHopLimit = 48;

    /// <summary>Descriptor flags (§2.7.5) and the available ring's flag (§2.7.6).</summary>
    public const ushort DescNext = 1, DescWrite = 2, AvailNoInterrupt = 1;

    // struct virtio_pci_common_cfg (§4.1.4.3).
    private const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0C;
    private const int NumQueues = 0x12, DeviceStatus = 0x14, QueueSelect = 0x16, QueueSizeField = 0x18, QueueMsixVector = 0x1A;
    private const int QueueEnable = 0x1C, QueueNotifyOff = 0x1E, QueueDesc = 0x20, QueueDriver = 0x28, QueueDevice = 0x30;

    // The driver's variables (dwords).
    private const uint VarPciBase = L.Variables + 0x00;      // CONFIG_ADDRESS of the function, register 0
    private const uint VarCommon = L.Variables + 0x04;
    private const uint VarNotifyBase = L.Variables + 0x08;
    private const uint VarNotifyMultiplier = L.Variables + 0x0C;
    private const uint VarDevice = L.Variables + 0x10;
    private const uint VarFound = L.Variables + 0x14;        // bit n: capability type n seen
    private const uint VarNextBar = L.Variables + 0x18;      // where the next assigned BAR goes
    private const uint VarBarsResolved = L.Variables + 0x1C; // bit n: BAR n's address is in VarBarAddress[n]
    private const uint VarCapability = L.Variables + 0x20;   // the capability being read
    private const uint VarBarAddress = L.Variables + 0x24;   // six dwords
    private const uint VarQueueNotify = L.Variables + 0x40;  // each queue's doorbell address, a dword per queue
    private const uint VarQueueSeen = L.Variables + 0x60;    // per queue: used elements taken so far (low 16 bits: used.idx)
    private const uint VarQueueTaken = L.Variables + 0x80;   // per queue: the buffer the last taken element named
    private const uint VarIsr = L.Variables + 0xA0;          // the ISR status byte's address (INTx waits)
    private const uint VarIntxPicPort = L.Variables + 0xA4;  // the command port of the 8259A the IRQ is on
    private const uint VarIntxBit = L.Variables + 0xA8;      // the IRQ's bit in that 8259A's IRR
    private const uint VarIntxSeen = L.IntxSeen;             // interrupts seen asserted and then deasserted by an ISR read
    // L.Variables + 0xB0 to 0xDB: the packed rings' positions, wrap counters and chain (VirtioPciDriverEmitter.Packed.cs).

    private readonly VirtioPciDriverOptions _options;
    private readonly Action _emitFailureDetail;
    private Label _fail, _pciRead, _pciWrite32, _pciWrite16, _printHex32, _printHex8, _resolveBar;

    /// <param name="emitFailureDetail">Emits what the guest's "FAIL" line says after the outcome (its own state), from Print and the hex printers.</param>
    public VirtioPciDriverEmitter(Assembler assembler, VirtioPciDriverOptions options, Action emitFailureDetail)
    {
        if (options.NotifyWidth is not (2 or 4))
            throw new ArgumentOutOfRangeException(nameof(options), options.NotifyWidth, "a doorbell write is 2 or 4 bytes");
        A = assembler;
        _options = options;
        _emitFailureDetail = emitFailureDetail;
        _fail = A.CreateLabel();
        _pciRead = A.CreateLabel();
        _pciWrite32 = A.CreateLabel();
        _pciWrite16 = A.CreateLabel();
        _printHex32 = A.CreateLabel();
        _printHex8 = A.CreateLabel();
        _resolveBar = A.CreateLabel();
    }

    public Assembler A { get; }

    /// <summary>printHex32: eax as 8 hex digits on COM1; every register kept.</summary>
    public Label PrintHex32 => _printHex32;

    /// <summary>printHex8: al as 2 hex digits on COM1; every register kept.</summary>
    public Label PrintHex8 => _printHex8;

    /// <summary>The variable holding queue <paramref name="queue"/>'s doorbell address (after <see cref="SetUpQueue"/>).</summary>
    public static uint NotifyAddressOf(int queue) => VarQueueNotify + (uint)queue * 4;

    /// <summary>The variable holding the common configuration's address.</summary>
    public static uint CommonConfiguration => VarCommon;

    /// <summary>The variable holding the device configuration's address (0 when the device has none).</summary>
    public static uint DeviceConfiguration => VarDevice;

    // ---- Bring-up ----------------------------------------------------------------------------------

    /// <summary>Interrupts off, the stack, and the rings, results and variables zeroed (RAM may hold anything).</summary>
    public void Start()
    {
        var a = A;
        a.cli();
        a.cld();
        a.mov(esp, L.StackTop);
        a.xor(eax, eax);
        a.mov(edi, L.DescriptorTable(0));
        a.mov(ecx, (L.ZeroedEnd - L.DescriptorTable(0)) / 4);
        a.rep.stosd();
        a.mov(__dword_ptr[VarNextBar], _options.BarAssignmentBase ?? 0);
    }

    /// <summary>Scans bus 0, function 0 of every slot, for the DeviceIndex-th function of the device's ID.</summary>
    public void FindFunction()
    {
        var a = A;
        var next = a.CreateLabel();
        var scan = a.CreateLabel();
        var found = a.CreateLabel();
        a.xor(esi, esi);                     // slot
        a.xor(edi, edi);                     // matches so far
        a.Label(ref scan);
        a.mov(eax, esi);
        a.shl(eax, 11);
        a.or(eax, ConfigEnable);
        a.call(_pciRead);
        a.cmp(eax, (ModernDeviceIdBase + _options.DeviceType) << 16 | VirtioVendor);
        a.jne(next);
        a.cmp(edi, _options.DeviceIndex);
        a.je(found);
        a.inc(edi);
        a.Label(ref next);
        a.inc(esi);
        a.cmp(esi, 32);
        a.jb(scan);
        FailNow(VirtioGuestOutcome.NoDevice);
        a.Label(ref found);
        a.mov(__dword_ptr[L.ResultSlot], esi);
        a.shl(esi, 11);
        a.or(esi, ConfigEnable);
        a.mov(__dword_ptr[VarPciBase], esi);
        // Memory decoding off while BARs are read, sized and moved, as an OS's enumeration does; back on below.
        SetCommand(keep: unchecked((ushort)~CommandMemorySpace), set: 0);
    }

    /// <summary>
    /// Walks the capability list; the first common, notify and device capability each give an address. A device
    /// without configuration (entropy) has no device capability, so it is required only when asked.
    /// </summary>
    public void WalkCapabilities(bool requireDeviceConfiguration)
    {
        var a = A;
        var walk = a.CreateLabel();
        var advance = a.CreateLabel();
        var done = a.CreateLabel();
        ConfigRead(0x04);
        a.test(eax, StatusCapabilityList);
        OnFailure(VirtioGuestOutcome.NoCapabilityList, ok => a.jnz(ok));
        ConfigRead(0x34);
        a.and(eax, 0xFC);
        a.mov(esi, eax);                      // the capability's offset
        a.mov(edi, CapabilityHopLimit);
        a.Label(ref walk);
        a.test(esi, esi);
        a.jz(done);
        a.dec(edi);
        OnFailure(VirtioGuestOutcome.CapabilityLoop, ok => a.jnz(ok));
        a.mov(__dword_ptr[VarCapability], esi);
        ConfigReadAt(esi, 0);                 // ID, next, cap_len, cfg_type
        a.cmp(al, VendorSpecificCapability);
        a.jne(advance);
        a.mov(ecx, eax);
        a.shr(ecx, 24);
        foreach (byte type in _options.WaitForIntx ? new[] { CommonCfg, NotifyCfg, IsrCfg, DeviceCfg } : [CommonCfg, NotifyCfg, DeviceCfg])
        {
            var other = a.CreateLabel();
            a.cmp(ecx, type);
            a.jne(other);
            a.test(__dword_ptr[VarFound], 1u << type);
            a.jnz(advance);                   // only the first of each type counts (§4.1.4)
            a.or(__dword_ptr[VarFound], 1u << type);
            CapabilityAddress();              // eax = BAR address + offset
            uint destination = type switch { CommonCfg => VarCommon, NotifyCfg => VarNotifyBase, IsrCfg => VarIsr, _ => VarDevice };
            a.mov(__dword_ptr[destination], eax);
            if (type == NotifyCfg)
            {
                ConfigReadAt(__dword_ptr[VarCapability], 16);
                a.mov(__dword_ptr[VarNotifyMultiplier], eax);
            }
            a.jmp(advance);
            Place(ref other);
        }
        a.Label(ref advance);
        a.mov(esi, __dword_ptr[VarCapability]);
        ConfigReadAt(esi, 0);
        a.shr(eax, 8);
        a.and(eax, 0xFC);
        a.mov(esi, eax);
        a.jmp(walk);
        a.Label(ref done);
        a.mov(eax, __dword_ptr[VarFound]);
        a.test(eax, 1u << CommonCfg);
        OnFailure(VirtioGuestOutcome.MissingCommonConfiguration, ok => a.jnz(ok));
        a.test(eax, 1u << NotifyCfg);
        OnFailure(VirtioGuestOutcome.MissingNotifyConfiguration, ok => a.jnz(ok));
        if (requireDeviceConfiguration)
        {
            a.test(eax, 1u << DeviceCfg);
            OnFailure(VirtioGuestOutcome.MissingDeviceConfiguration, ok => a.jnz(ok));
        }
        if (_options.WaitForIntx)
        {
            a.test(eax, 1u << IsrCfg);
            OnFailure(VirtioGuestOutcome.NoIntx, ok => a.jnz(ok));
        }
        a.mov(eax, __dword_ptr[VarCommon]);
        a.mov(__dword_ptr[L.ResultCommonConfiguration], eax);
        SetCommand(keep: 0xFFFF, set: CommandMemorySpace | CommandBusMaster);
        if (_options.WaitForIntx)
            SetUpIntx();
    }

    /// <summary>
    /// INTx waits: takes the IRQ from Interrupt Line (what firmware routed, PCI 3.0 §6.2.4), initialises both 8259As with
    /// every input masked (ICW1–4, OCW1), makes the IRQ level-triggered in the ELCR, and checks that it is not asserted yet.
    /// </summary>
    private void SetUpIntx()
    {
        var a = A;
        var master = a.CreateLabel();
        ConfigRead(0x3C);
        a.and(eax, 0xFF);
        a.cmp(eax, 16);
        OnFailure(VirtioGuestOutcome.NoIntx, ok => a.jb(ok));
        a.mov(ecx, eax);
        a.and(ecx, 7);
        a.mov(ebx, 1);
        a.shl(ebx, cl);
        a.mov(__dword_ptr[VarIntxBit], ebx);
        a.mov(esi, eax);                                       // the IRQ
        foreach (var (command, vectorBase, icw3) in new[] { (PicMasterCommand, (byte)0x20, (byte)0x04), (PicSlaveCommand, (byte)0x28, (byte)0x02) })
        {
            a.mov(dx, command);
            a.mov(al, 0x11);                                   // ICW1: edge (the ELCR decides per IRQ), cascade, ICW4 follows
            a.@out(dx, al);
            a.inc(dx);
            a.mov(al, vectorBase);                             // ICW2
            a.@out(dx, al);
            a.mov(al, icw3);                                   // ICW3: slave on IRQ2 / slave identity 2
            a.@out(dx, al);
            a.mov(al, 0x01);                                   // ICW4: 8086 mode
            a.@out(dx, al);
            a.mov(al, 0xFF);                                   // OCW1: every input masked, so nothing is ever delivered
            a.@out(dx, al);
        }
        a.mov(edx, ElcrPort);
        a.mov(ecx, PicMasterCommand);
        a.cmp(esi, 8);
        a.jb(master);
        a.inc(edx);
        a.mov(ecx, PicSlaveCommand);
        a.Label(ref master);
        a.mov(__dword_ptr[VarIntxPicPort], ecx);
        a.@in(al, dx);
        a.or(al, bl);
        a.@out(dx, al);                                        // ELCR: the IRQ is level-triggered, its IRR follows the wire
        ReadIntxIrr();
        OnFailure(VirtioGuestOutcome.IntxStuck, ok => a.jz(ok));
    }

    /// <summary>Reads the IRQ's 8259A IRR through OCW3 and tests its bit (ZF set: not requested). Clobbers eax and edx.</summary>
    private void ReadIntxIrr()
    {
        var a = A;
        a.mov(edx, __dword_ptr[VarIntxPicPort]);
        a.mov(al, Ocw3ReadIrr);
        a.@out(dx, al);
        a.@in(al, dx);
        a.movzx(eax, al);
        a.test(__dword_ptr[VarIntxBit], eax);
    }

    /// <summary>
    /// INTx waits: polls the IRR until the IRQ is requested, then reads ISR, which must have bit 0 (a queue interrupt) set,
    /// and the IRR again, which must have dropped (§4.1.4.5: reading ISR deasserts INTx). Clobbers eax, ebx, edx and edi.
    /// </summary>
    private void WaitForIntx()
    {
        var a = A;
        var poll = a.CreateLabel();
        var asserted = a.CreateLabel();
        a.xor(edi, edi);
        a.Label(ref poll);
        ReadIntxIrr();
        a.jnz(asserted);
        a.pause();
        a.inc(edi);
        a.test(edi, 0xF_FFFF);
        a.jnz(poll);
        a.mov(ebx, __dword_ptr[VarCommon]);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        a.jz(poll);
        FailNow(VirtioGuestOutcome.DeviceFailed);
        a.Label(ref asserted);
        a.mov(ebx, __dword_ptr[VarIsr]);
        a.movzx(eax, __byte_ptr[ebx]);
        a.test(eax, 1);
        OnFailure(VirtioGuestOutcome.IntxStuck, ok => a.jnz(ok));
        ReadIntxIrr();
        OnFailure(VirtioGuestOutcome.IntxStuck, ok => a.jz(ok));
        a.inc(__dword_ptr[VarIntxSeen]);
    }


    /// <summary>eax = the address of the capability at VarCapability's structure: its BAR's address + its offset.</summary>
    private void CapabilityAddress()
    {
        var a = A;
        ConfigReadAt(__dword_ptr[VarCapability], 4);   // bar, id, padding
        a.movzx(ebx, al);
        a.call(_resolveBar);
        a.push(eax);
        ConfigReadAt(__dword_ptr[VarCapability], 8);   // offset
        a.pop(ebx);
        a.add(eax, ebx);
    }

    /// <summary>
    /// §3.1.1 up to FEATURES_OK with VERSION_1, RING_PACKED when the options ask, and the options' DriverFeatures, each of
    /// which the device must offer.
    /// Leaves ebx = the common configuration.
    /// </summary>
    public void NegotiateFeatures()
    {
        var a = A;
        var resetWait = a.CreateLabel();
        var resetDone = a.CreateLabel();
        a.mov(ebx, __dword_ptr[VarCommon]);
        a.mov(__byte_ptr[ebx + DeviceStatus], 0);
        a.mov(ecx, 0x10_0000);
        a.Label(ref resetWait);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, eax);
        a.jz(resetDone);
        a.pause();
        a.dec(ecx);
        a.jnz(resetWait);
        FailNow(VirtioGuestOutcome.ResetFailed);
        a.Label(ref resetDone);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver);
        // Feature bit 32 (VERSION_1) is bit 0 of the second feature dword.
        a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 1);
        a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
        a.test(eax, 1);
        OnFailure(VirtioGuestOutcome.NoVersion1, ok => a.jnz(ok));
        uint wanted = _options.DriverFeatures;
        if (wanted != 0)
        {
            a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 0);
            a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
            a.and(eax, wanted);
            a.cmp(eax, wanted);
            OnFailure(VirtioGuestOutcome.FeatureMissing, ok => a.je(ok));
        }
        uint wantedHigh = 1;   // VERSION_1
        if (_options.PackedRing)
        {
            a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 1);
            a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
            a.test(eax, RingPackedHigh);
            OnFailure(VirtioGuestOutcome.FeatureMissing, ok => a.jnz(ok));
            wantedHigh |= RingPackedHigh;
        }
        a.mov(__dword_ptr[ebx + DriverFeatureSelect], 0);
        a.mov(__dword_ptr[ebx + DriverFeature], wanted);
        a.mov(__dword_ptr[ebx + DriverFeatureSelect], 1);
        a.mov(__dword_ptr[ebx + DriverFeature], wantedHigh);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver | FeaturesOk);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, FeaturesOk);
        OnFailure(VirtioGuestOutcome.FeaturesRejected, ok => a.jnz(ok));
    }

    /// <summary>
    /// Sets up queues 0 to <paramref name="count"/> - 1 of <paramref name="size"/> entries each (see <see cref="SetUpQueue"/>),
    /// failing with <see cref="VirtioGuestOutcome.QueueTooSmall"/> before the first when the device has fewer. Needs ebx = the
    /// common configuration.
    /// </summary>
    public void SetUpQueues(int count, ushort size)
    {
        if (count is < 1 or > L.MaxQueues)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"the layout holds 1 to {L.MaxQueues} queues");
        var a = A;
        a.movzx(eax, __word_ptr[ebx + NumQueues]);
        a.cmp(eax, count);
        OnFailure(VirtioGuestOutcome.QueueTooSmall, ok => a.jae(ok));
        for (int queue = 0; queue < count; queue++)
            SetUpQueue(queue, size);
    }

    /// <summary>
    /// Sets up queue <paramref name="queue"/> of <paramref name="size"/> entries on its rings in <see cref="VirtioGuestLayout"/>
    /// and enables it; its doorbell address goes to <see cref="NotifyAddressOf"/>. Needs ebx = the common configuration.
    /// </summary>
    public void SetUpQueue(int queue, ushort size)
    {
        if (queue is < 0 or >= L.MaxQueues)
            throw new ArgumentOutOfRangeException(nameof(queue), queue, $"the layout holds {L.MaxQueues} queues");
        var a = A;
        a.movzx(eax, __word_ptr[ebx + NumQueues]);
        a.cmp(eax, queue);
        OnFailure(VirtioGuestOutcome.QueueTooSmall, ok => a.ja(ok));
        a.mov(__word_ptr[ebx + QueueSelect], (ushort)queue);
        a.movzx(eax, __word_ptr[ebx + QueueSizeField]);
        a.cmp(eax, size);
        OnFailure(VirtioGuestOutcome.QueueTooSmall, ok => a.jae(ok));
        a.mov(__word_ptr[ebx + QueueSizeField], size);
        a.mov(__word_ptr[ebx + QueueMsixVector], 0xFFFF);   // NO_VECTOR: this driver polls
        a.mov(__dword_ptr[ebx + QueueDesc], L.DescriptorTable(queue));
        a.mov(__dword_ptr[ebx + QueueDesc + 4], 0);
        a.mov(__dword_ptr[ebx + QueueDriver], L.AvailableRing(queue));
        a.mov(__dword_ptr[ebx + QueueDriver + 4], 0);
        a.mov(__dword_ptr[ebx + QueueDevice], L.UsedRing(queue));
        a.mov(__dword_ptr[ebx + QueueDevice + 4], 0);
        // Interrupts suppressed while polling; wanted when the driver waits for INTx.
        if (_options.PackedRing)
            SetUpPackedQueue(queue);
        else
            a.mov(__word_ptr[L.AvailableRing(queue)], _options.WaitForIntx ? (ushort)0 : AvailNoInterrupt);
        a.movzx(eax, __word_ptr[ebx + QueueNotifyOff]);
        a.imul(eax, __dword_ptr[VarNotifyMultiplier]);
        a.add(eax, __dword_ptr[VarNotifyBase]);
        a.mov(__dword_ptr[NotifyAddressOf(queue)], eax);
        if (queue == 0)
            a.mov(__dword_ptr[L.ResultNotifyAddress], eax);
        a.mov(__word_ptr[ebx + QueueEnable], 1);
    }

    /// <summary>DRIVER_OK, checked to have stuck without DEVICE_NEEDS_RESET. Needs ebx = the common configuration.</summary>
    public void DriverOk()
    {
        var a = A;
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver | FeaturesOk | DriverOkStatus);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        OnFailure(VirtioGuestOutcome.DeviceFailed, ok => a.jz(ok));
        a.test(eax, DriverOkStatus);
        OnFailure(VirtioGuestOutcome.DeviceFailed, ok => a.jnz(ok));
    }

    /// <summary>Prints "&lt;name&gt; slot ss common cccccccc notify nnnnnnnn" (no newline): what every guest found.</summary>
    public void PrintFound(string name)
    {
        var a = A;
        Print($"{name} slot ");
        a.mov(eax, __dword_ptr[L.ResultSlot]);
        a.call(_printHex8);
        Print(" common ");
        a.mov(eax, __dword_ptr[VarCommon]);
        a.call(_printHex32);
        Print(" notify ");
        a.mov(eax, __dword_ptr[L.ResultNotifyAddress]);
        a.call(_printHex32);
    }

    // ---- Queues at work ----------------------------------------------------------------------------

    /// <summary>
    /// Publishes the descriptor head in <paramref name="head"/> in queue <paramref name="queue"/>'s available ring at
    /// ring[idx % size], then idx + 1 (§2.7.13): x86 keeps stores in order. Leaves eax = the new available index.
    /// Clobbers ecx, so the head is in neither.
    /// </summary>
    public void Publish(int queue, ushort size, AssemblerRegister16 head)
    {
        if (head == ax || head == cx)
            throw new ArgumentException("the head cannot be in ax or cx", nameof(head));
        RequireSplitRing();
        var a = A;
        uint avail = L.AvailableRing(queue);
        a.movzx(eax, __word_ptr[avail + 2]);
        a.mov(ecx, eax);
        a.and(ecx, size - 1);
        a.mov(__word_ptr[ecx * 2 + (avail + 4)], head);
        a.inc(eax);
        a.mov(__word_ptr[avail + 2], ax);
    }

    /// <summary>
    /// Rings queue <paramref name="queue"/>'s doorbell with its index, as wide a write as the options' NotifyWidth, the
    /// stores before it fenced first. Clobbers eax and edx.
    /// </summary>
    public void Notify(int queue)
    {
        var a = A;
        a.mfence();
        a.mov(edx, __dword_ptr[NotifyAddressOf(queue)]);
        a.mov(eax, (uint)queue);
        if (_options.NotifyWidth == 4)
            a.mov(__dword_ptr[edx], eax);
        else
            a.mov(__word_ptr[edx], ax);
    }

    /// <summary>
    /// Polls queue <paramref name="queue"/>'s used.idx until it differs from <paramref name="seen"/> (si or bp: eax,
    /// ebx and edi are used here); eax = the used index then. Now and then it looks at
    /// device_status, and fails if the device gave up (DEVICE_NEEDS_RESET) instead of answering.
    /// </summary>
    public void WaitForUsed(int queue, AssemblerRegister16 seen)
    {
        if (seen != si && seen != bp)
            throw new ArgumentException("the index polled against must be in si or bp", nameof(seen));
        RequireSplitRing();
        var a = A;
        var poll = a.CreateLabel();
        var completed = a.CreateLabel();
        uint used = L.UsedRing(queue);
        if (_options.WaitForIntx)
            WaitForIntx();
        a.xor(edi, edi);
        a.Label(ref poll);
        a.movzx(eax, __word_ptr[used + 2]);
        a.cmp(ax, seen);
        a.jne(completed);
        a.pause();
        a.inc(edi);
        a.test(edi, 0xF_FFFF);
        a.jnz(poll);
        a.mov(ebx, __dword_ptr[VarCommon]);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        a.jz(poll);
        FailNow(VirtioGuestOutcome.DeviceFailed);
        a.Label(ref completed);
        // Read the element only after the index (§2.7.13.3.1); x86 does not reorder loads with loads.
        a.movzx(eax, __word_ptr[used + 2]);
    }

    /// <summary>
    /// Gives queue <paramref name="queue"/> <paramref name="count"/> device-writable buffers of <paramref name="bufferSize"/>
    /// bytes from <paramref name="buffers"/> on, one descriptor each (descriptor i is buffer i), and rings its doorbell once.
    /// </summary>
    public void PostReceiveBuffers(int queue, ushort size, uint buffers, int count, uint bufferSize)
    {
        if (count > size)
            throw new ArgumentOutOfRangeException(nameof(count), count, "more buffers than the queue holds");
        var a = A;
        for (int i = 0; i < count; i++)
        {
            uint descriptor = L.DescriptorTable(queue) + (uint)i * 16;
            a.mov(__dword_ptr[descriptor], buffers + (uint)i * bufferSize);
            a.mov(__dword_ptr[descriptor + 4], 0);
            a.mov(__dword_ptr[descriptor + 8], bufferSize);
            a.mov(__word_ptr[descriptor + 12], DescWrite);
            a.mov(__word_ptr[descriptor + 14], 0);
            a.mov(edx, (uint)i);
            Publish(queue, size, dx);
        }
        Notify(queue);
    }

    /// <summary>
    /// Waits for the next used element of a queue whose buffers <see cref="PostReceiveBuffers"/> posted, checks it names
    /// one of them and a length within it, and leaves esi = the buffer, edx = the bytes the device wrote. Clobbers
    /// everything but ebp.
    /// </summary>
    public void TakeReceivedBuffer(int queue, ushort size, uint buffers, int count, uint bufferSize)
    {
        var a = A;
        uint used = L.UsedRing(queue), seen = VarQueueSeen + (uint)queue * 4;
        a.mov(esi, __dword_ptr[seen]);
        WaitForUsed(queue, si);
        a.mov(ebx, __dword_ptr[seen]);
        a.and(ebx, size - 1);
        a.mov(ecx, __dword_ptr[ebx * 8 + (used + 4)]);   // id
        a.mov(edx, __dword_ptr[ebx * 8 + (used + 8)]);   // bytes written
        a.inc(__dword_ptr[seen]);
        a.cmp(ecx, count);
        OnFailure(VirtioGuestOutcome.WrongUsedId, ok => a.jb(ok));
        a.mov(__dword_ptr[VarQueueTaken + (uint)queue * 4], ecx);
        a.cmp(edx, bufferSize);
        OnFailure(VirtioGuestOutcome.WrongUsedLength, ok => a.jbe(ok));
        a.imul(esi, ecx, (int)bufferSize);
        a.add(esi, buffers);
    }

    /// <summary>Gives the buffer <see cref="TakeReceivedBuffer"/> took last back to the device and rings the doorbell. Clobbers eax, ecx, edx.</summary>
    public void RepostTakenBuffer(int queue, ushort size)
    {
        A.mov(edx, __dword_ptr[VarQueueTaken + (uint)queue * 4]);
        Publish(queue, size, dx);
        Notify(queue);
    }

    /// <summary>
    /// Transmits the ecx bytes at <paramref name="buffer"/> as descriptor 0 of queue <paramref name="queue"/> (device-readable,
    /// alone in its chain) and waits until the device has taken them: one buffer in flight at a time. Clobbers everything but ebp.
    /// </summary>
    public void TransmitOne(int queue, ushort size, uint buffer)
    {
        var a = A;
        uint descriptor = L.DescriptorTable(queue), used = L.UsedRing(queue);
        a.mov(__dword_ptr[descriptor], buffer);
        a.mov(__dword_ptr[descriptor + 4], 0);
        a.mov(__dword_ptr[descriptor + 8], ecx);
        a.mov(__word_ptr[descriptor + 12], 0);
        a.mov(__word_ptr[descriptor + 14], 0);
        a.xor(edx, edx);
        Publish(queue, size, dx);
        a.lea(esi, __[eax - 1]);
        Notify(queue);
        WaitForUsed(queue, si);
        a.lea(ebx, __[eax - 1]);
        a.and(ebx, size - 1);
        a.cmp(__dword_ptr[ebx * 8 + (used + 4)], 0);
        OnFailure(VirtioGuestOutcome.WrongUsedId, ok => a.je(ok));
    }

    /// <summary>Emits stores that put <paramref name="bytes"/> at <paramref name="address"/> (data the guest's code carries, such as a frame). Clobbers nothing.</summary>
    public void StoreBytes(uint address, ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        for (; i + 4 <= bytes.Length; i += 4)
            A.mov(__dword_ptr[address + (uint)i], System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[i..]));
        for (; i < bytes.Length; i++)
            A.mov(__byte_ptr[address + (uint)i], bytes[i]);
    }

    /// <summary>Records <see cref="VirtioGuestOutcome.Success"/>, prints "done" and exits with it.</summary>
    public void Succeed()
    {
        Print("done\n");
        A.mov(bl, (byte)VirtioGuestOutcome.Success);
        A.mov(__byte_ptr[L.ResultOutcome], bl);
        ExitWithBl();
    }

    /// <summary>The shared subroutines: fail, PCI configuration access, hex printing, BAR resolution.</summary>
    public void EmitSubroutines()
    {
        EmitFail();
        EmitPciAccess();
        EmitPrintHex();
        EmitResolveBar();
    }

    // ---- Subroutines -------------------------------------------------------------------------------

    /// <summary>
    /// resolveBar: ebx = BAR index; eax = its address. Assigns it (sized, naturally aligned at VarNextBar) when it is
    /// 0 or the program reassigns BARs; a BAR is resolved once. Memory decoding is off while this runs. Keeps esi and edi.
    /// </summary>
    private void EmitResolveBar()
    {
        var a = A;
        var known = a.CreateLabel();
        var low = a.CreateLabel();
        var assign = a.CreateLabel();
        var store = a.CreateLabel();
        var notUpperHalf = a.CreateLabel();
        a.Label(ref _resolveBar);
        a.push(esi);
        a.push(edi);
        a.cmp(ebx, 5);
        OnFailure(VirtioGuestOutcome.UnusableBar, ok => a.jbe(ok));
        a.bt(__dword_ptr[VarBarsResolved], ebx);
        a.jc(known);
        a.lea(esi, __[ebx * 4 + 0x10]);       // the BAR's register
        ConfigReadAt(esi, 0);
        a.test(eax, 1);                         // an I/O BAR: not what virtio structures live in
        OnFailure(VirtioGuestOutcome.UnusableBar, ok => a.jz(ok));
        // A capability naming the upper half of a 64-bit BAR (the register before it says "64-bit") is unusable.
        a.test(ebx, ebx);
        a.jz(notUpperHalf);
        a.push(eax);
        ConfigReadAt(esi, -4);
        a.and(eax, 0x7);
        a.cmp(eax, 0x4);
        a.pop(eax);
        OnFailure(VirtioGuestOutcome.UnusableBar, ok => a.jne(ok));
        a.Label(ref notUpperHalf);
        a.mov(edi, eax);
        a.and(edi, 0x6);                        // type: 0 = 32-bit, 4 = 64-bit (bits 2:1 = 10b)
        a.cmp(edi, 4);
        a.jne(low);
        a.cmp(ebx, 5);
        OnFailure(VirtioGuestOutcome.UnusableBar, ok => a.jb(ok));
        if (!_options.ReassignBars)
        {
            a.push(eax);
            ConfigReadAt(esi, 4);
            a.test(eax, eax);
            a.pop(eax);
            OnFailure(VirtioGuestOutcome.BarAbove4GiB, ok => a.jz(ok));
        }
        a.Label(ref low);
        a.and(eax, 0xFFFF_FFF0);
        if (_options.ReassignBars)
            a.jmp(assign);
        a.test(eax, eax);
        a.jnz(store);
        if (_options.BarAssignmentBase is null)
            FailNow(VirtioGuestOutcome.BarUnassigned);
        a.Label(ref assign);
        // Size it (write all ones, read back the writable address bits), then place it on its natural alignment.
        a.push(ebx);
        a.mov(ecx, 0xFFFF_FFFF);
        ConfigWriteAt(esi, 0);
        ConfigReadAt(esi, 0);
        a.and(eax, 0xFFFF_FFF0);
        a.neg(eax);                              // size = ~mask + 1
        a.mov(ecx, __dword_ptr[VarNextBar]);
        a.lea(ecx, __[ecx + eax - 1]);
        a.mov(edx, eax);
        a.neg(edx);
        a.and(ecx, edx);                         // aligned up to the size
        a.add(eax, ecx);
        a.mov(__dword_ptr[VarNextBar], eax);
        a.push(ecx);
        ConfigWriteAt(esi, 0);
        a.cmp(edi, 4);
        var upperDone = a.CreateLabel();
        a.jne(upperDone);
        a.xor(ecx, ecx);
        ConfigWriteAt(esi, 4);
        a.Label(ref upperDone);
        a.pop(eax);
        a.pop(ebx);
        a.Label(ref store);
        a.mov(__dword_ptr[ebx * 4 + VarBarAddress], eax);
        a.bts(__dword_ptr[VarBarsResolved], ebx);
        a.Label(ref known);
        a.mov(eax, __dword_ptr[ebx * 4 + VarBarAddress]);
        a.pop(edi);
        a.pop(esi);
        a.ret();
    }

    /// <summary>
    /// pciRead: eax = CONFIG_ADDRESS → eax = the dword. pciWrite32 / pciWrite16: eax = CONFIG_ADDRESS, ecx = the value
    /// (the word goes to CONFIG_DATA + (register &amp; 2)). Configuration mechanism #1 (PCI 3.0 §3.2.2.3.2). Clobber edx.
    /// </summary>
    private void EmitPciAccess()
    {
        var a = A;
        a.Label(ref _pciRead);
        a.mov(dx, ConfigAddressPort);
        a.@out(dx, eax);
        a.mov(dx, ConfigDataPort);
        a.@in(eax, dx);
        a.ret();

        a.Label(ref _pciWrite32);
        a.mov(dx, ConfigAddressPort);
        a.@out(dx, eax);
        a.mov(dx, ConfigDataPort);
        a.xchg(eax, ecx);
        a.@out(dx, eax);
        a.xchg(eax, ecx);
        a.ret();

        a.Label(ref _pciWrite16);
        a.mov(dx, ConfigAddressPort);
        a.push(eax);
        a.and(eax, 0xFFFF_FFFC);
        a.@out(dx, eax);
        a.pop(eax);
        a.mov(edx, eax);
        a.and(edx, 2);
        a.add(edx, ConfigDataPort);
        a.xchg(eax, ecx);
        a.@out(dx, ax);
        a.xchg(eax, ecx);
        a.ret();
    }

    /// <summary>printHex32 / printHex8: eax (8 or 2 hex digits) to COM1. Preserve every register.</summary>
    private void EmitPrintHex()
    {
        var a = A;
        var digits = a.CreateLabel();
        var loop = a.CreateLabel();
        var decimalDigit = a.CreateLabel();
        a.Label(ref _printHex8);
        a.pushad();
        a.mov(ebx, eax);
        a.shl(ebx, 24);
        a.mov(ecx, 2);
        a.jmp(digits);
        a.Label(ref _printHex32);
        a.pushad();
        a.mov(ebx, eax);
        a.mov(ecx, 8);
        a.Label(ref digits);
        a.mov(dx, GuestCode.Com1);
        a.Label(ref loop);
        a.rol(ebx, 4);
        a.mov(eax, ebx);
        a.and(eax, 0xF);
        a.cmp(al, 10);
        a.jb(decimalDigit);
        a.add(al, (byte)('a' - 10 - '0'));
        a.Label(ref decimalDigit);
        a.add(al, (byte)'0');
        a.@out(dx, al);
        a.dec(ecx);
        a.jnz(loop);
        a.popad();
        a.ret();
    }

    /// <summary>fail: bl = outcome. Records it, prints "FAIL oo" and the guest's detail, exits with it.</summary>
    private void EmitFail()
    {
        var a = A;
        a.Label(ref _fail);
        a.mov(__byte_ptr[L.ResultOutcome], bl);
        Print("FAIL ");
        a.movzx(eax, bl);
        a.call(_printHex8);
        a.push(ebx);
        _emitFailureDetail();
        a.pop(ebx);
        Print("\n");
        ExitWithBl();
    }

    // ---- Emission helpers --------------------------------------------------------------------------

    /// <summary>The split-ring helpers address an available and a used ring a packed queue does not have.</summary>
    private void RequireSplitRing()
    {
        if (_options.PackedRing)
            throw new InvalidOperationException("a split-ring helper on a driver that negotiates packed rings");
    }

    private void ExitWithBl()
    {
        var a = A;
        var halt = a.CreateLabel();
        a.mov(al, bl);
        a.mov(dx, GuestCode.DebugExit);
        a.@out(dx, al);
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    }

    public void FailNow(VirtioGuestOutcome outcome)
    {
        A.mov(bl, (byte)outcome);
        A.jmp(_fail);
    }

    /// <summary>Emits <paramref name="jumpIfOk"/> (a conditional jump to its label), then the failure it skips.</summary>
    public void OnFailure(VirtioGuestOutcome outcome, Action<Label> jumpIfOk)
    {
        var ok = A.CreateLabel();
        jumpIfOk(ok);
        FailNow(outcome);
        Place(ref ok);
    }

    /// <summary>Places <paramref name="label"/> here on an empty instruction, so another label may follow at once (Iced allows one per instruction).</summary>
    public void Place(ref Label label)
    {
        A.Label(ref label);
        A.zero_bytes();
    }

    public void Print(string text) => GuestCode.Print32(A, text);

    /// <summary>eax = the function's configuration dword at <paramref name="register"/>.</summary>
    private void ConfigRead(int register)
    {
        A.mov(eax, __dword_ptr[VarPciBase]);
        A.or(eax, register);
        A.call(_pciRead);
    }

    /// <summary>eax = the configuration dword at register <paramref name="offset"/> + <paramref name="delta"/>.</summary>
    private void ConfigReadAt(AssemblerRegister32 offset, int delta)
    {
        A.lea(eax, __[offset + delta]);
        A.or(eax, __dword_ptr[VarPciBase]);
        A.call(_pciRead);
    }

    private void ConfigReadAt(AssemblerMemoryOperand offset, int delta)
    {
        A.mov(eax, offset);
        A.add(eax, delta);
        A.or(eax, __dword_ptr[VarPciBase]);
        A.call(_pciRead);
    }

    /// <summary>Writes ecx to the configuration dword at register <paramref name="offset"/> + <paramref name="delta"/>.</summary>
    private void ConfigWriteAt(AssemblerRegister32 offset, int delta)
    {
        A.lea(eax, __[offset + delta]);
        A.or(eax, __dword_ptr[VarPciBase]);
        A.call(_pciWrite32);
    }

    /// <summary>Command = (Command &amp; keep) | set, as a word write (the Status half is write-one-to-clear).</summary>
    private void SetCommand(ushort keep, ushort set)
    {
        ConfigRead(0x04);
        A.and(eax, keep);
        A.or(eax, set);
        A.mov(ecx, eax);
        A.mov(eax, __dword_ptr[VarPciBase]);
        A.or(eax, 0x04);
        A.call(_pciWrite16);
    }
}
