using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioBlockGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// Writes <see cref="VirtioBlockGuest"/>'s code. The bring-up follows virtio 1.2 §3.1.1 (reset, ACKNOWLEDGE,
/// DRIVER, features, FEATURES_OK, queues, DRIVER_OK) over the PCI transport of §4.1: capabilities found by
/// walking the list from 0x34 (§4.1.4), the notify address of queue 0 at cap.offset + queue_notify_off ×
/// notify_off_multiplier (§4.1.4.4), a 16-bit queue index written there. Each request is one descriptor
/// chain (header, data, status; §5.2.6) published in the available ring with interrupts suppressed
/// (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7) and reaped by polling used.idx (§2.7.8). Subroutines use the stack
/// at <see cref="VirtioBlockGuestLayout.StackTop"/>; the step code is unrolled, one block per step.
/// </summary>
internal sealed partial class VirtioBlockGuestEmitter
{
    private const ushort ConfigAddressPort = 0xCF8, ConfigDataPort = 0xCFC;
    private const uint ConfigEnable = 0x8000_0000;
    private const uint VirtioBlockIds = 0x1042_1AF4;   // device 0x1042 (0x1040 + type 2) : vendor 0x1AF4
    private const byte VendorSpecificCapability = 0x09;
    private const byte CommonCfg = 1, NotifyCfg = 2, DeviceCfg = 4;
    private const ushort CommandMemorySpace = 1 << 1, CommandBusMaster = 1 << 2;
    private const uint StatusCapabilityList = 1 << 20;  // Status bit 4, in the dword at 0x04
    private const byte Acknowledge = 1, Driver = 2, DriverOk = 4, FeaturesOk = 8, DeviceNeedsReset = 0x40;
    private const ushort DescNext = 1, DescWrite = 2, AvailNoInterrupt = 1;
    private const int CapabilityHopLimit = 48;

    // struct virtio_pci_common_cfg (§4.1.4.3).
    private const int DeviceFeatureSelect = 0x00, DeviceFeature = 0x04, DriverFeatureSelect = 0x08, DriverFeature = 0x0C;
    private const int NumQueues = 0x12, DeviceStatus = 0x14, QueueSelect = 0x16, QueueSizeField = 0x18, QueueMsixVector = 0x1A;
    private const int QueueEnable = 0x1C, QueueNotifyOff = 0x1E, QueueDesc = 0x20, QueueDriver = 0x28, QueueDevice = 0x30;

    // The guest's variables (dwords).
    private const uint VarPciBase = L.Variables + 0x00;      // CONFIG_ADDRESS of the function, register 0
    private const uint VarCommon = L.Variables + 0x04;
    private const uint VarNotifyBase = L.Variables + 0x08;
    private const uint VarNotifyMultiplier = L.Variables + 0x0C;
    private const uint VarDevice = L.Variables + 0x10;
    private const uint VarNotify = L.Variables + 0x14;
    private const uint VarSectorLow = L.Variables + 0x18;
    private const uint VarSectorHigh = L.Variables + 0x1C;
    private const uint VarFound = L.Variables + 0x20;        // bit n: capability type n seen
    private const uint VarNextBar = L.Variables + 0x24;      // where the next assigned BAR goes
    private const uint VarBarsResolved = L.Variables + 0x28; // bit n: BAR n's address is in VarBarAddress[n]
    private const uint VarSum = L.Variables + 0x2C;
    private const uint VarExpectedLength = L.Variables + 0x30;
    private const uint VarCapability = L.Variables + 0x34;   // the capability being read
    private const uint VarData = L.Variables + 0x38;         // this request's data: the buffer, or further on when spread
    private const uint VarBarAddress = L.Variables + 0x40;   // six dwords
    private const uint VarHeaderSectorLow = L.Variables + 0x58;  // the request header's sector field
    private const uint VarHeaderSectorHigh = L.Variables + 0x5C;
    private const uint VarQueueNotify = L.Variables + 0x60;  // a dword per queue: its doorbell's address

    private static uint QueueNotify(int queue) => VarQueueNotify + (4 * (uint)queue);

    private readonly Assembler _a;
    private readonly VirtioBlockGuestProgram _program;
    private Label _fail, _pciRead, _pciWrite32, _pciWrite16, _printHex32, _printHex8, _resolveBar, _checksum, _fill;
    private readonly Label[] _submit = new Label[L.MaxQueues];

    public VirtioBlockGuestEmitter(Assembler assembler, VirtioBlockGuestProgram program)
    {
        _a = assembler;
        _program = program;
    }

    public void Emit()
    {
        var a = _a;
        _fail = a.CreateLabel();
        _pciRead = a.CreateLabel();
        _pciWrite32 = a.CreateLabel();
        _pciWrite16 = a.CreateLabel();
        _printHex32 = a.CreateLabel();
        _printHex8 = a.CreateLabel();
        _resolveBar = a.CreateLabel();
        for (int q = 0; q < _program.QueueCount; q++)
            _submit[q] = a.CreateLabel();
        _checksum = a.CreateLabel();
        _fill = a.CreateLabel();

        a.cli();
        a.cld();
        a.mov(esp, L.StackTop);
        // The ring pages, request header and status, results and variables start zeroed (RAM may hold anything).
        a.xor(eax, eax);
        a.mov(edi, L.DescriptorTable);
        a.mov(ecx, (L.Variables + 0x1000 - L.DescriptorTable) / 4);
        a.rep.stosd();
        for (int q = 1; q < _program.QueueCount; q++)
        {
            a.mov(edi, L.DescriptorTableOf(q));
            a.mov(ecx, (L.UsedRingOf(q) + 0x1000 - L.DescriptorTableOf(q)) / 4);
            a.rep.stosd();
        }
        a.mov(__dword_ptr[L.ResultStep], 0xFFFF_FFFF);   // "bring-up" until the first step starts
        a.mov(__dword_ptr[VarNextBar], _program.BarAssignmentBase ?? 0);

        FindFunction();
        WalkCapabilities();
        BringUpDevice();
        if (_program.RequestPhaseMarker is { } marker)
            a.mov(__byte_ptr[marker], 123);
        for (int i = 0; i < _program.Steps.Count; i++)
            EmitStep(i, _program.Steps[i]);
        Print("done\n");
        a.mov(bl, (byte)VirtioBlockGuestOutcome.Success);
        a.mov(__byte_ptr[L.ResultOutcome], bl);
        ExitWithBl();

        EmitFail();
        EmitPciAccess();
        EmitPrintHex();
        EmitResolveBar();
        for (int q = 0; q < _program.QueueCount; q++)
        {
            if (_program.PackedRing)
                EmitSubmitPacked(q);
            else
                EmitSubmit(q);
        }
        EmitChecksum();
        EmitFill();
    }

    // ---- Bring-up ----------------------------------------------------------------------------------

    /// <summary>Scans bus 0, function 0 of every slot, for the DeviceIndex-th virtio-blk function.</summary>
    private void FindFunction()
    {
        var a = _a;
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
        a.cmp(eax, VirtioBlockIds);
        a.jne(next);
        a.cmp(edi, _program.DeviceIndex);
        a.je(found);
        a.inc(edi);
        a.Label(ref next);
        a.inc(esi);
        a.cmp(esi, 32);
        a.jb(scan);
        FailNow(VirtioBlockGuestOutcome.NoDevice);
        a.Label(ref found);
        a.mov(__dword_ptr[L.ResultSlot], esi);
        a.shl(esi, 11);
        a.or(esi, ConfigEnable);
        a.mov(__dword_ptr[VarPciBase], esi);
        // Memory decoding off while BARs are read, sized and moved, as an OS's enumeration does; back on below.
        SetCommand(keep: unchecked((ushort)~CommandMemorySpace), set: 0);
    }

    /// <summary>Walks the capability list; the first common, notify and device capability each give an address.</summary>
    private void WalkCapabilities()
    {
        var a = _a;
        var walk = a.CreateLabel();
        var advance = a.CreateLabel();
        var done = a.CreateLabel();
        ConfigRead(0x04);
        a.test(eax, StatusCapabilityList);
        OnFailure(VirtioBlockGuestOutcome.NoCapabilityList, ok => a.jnz(ok));
        ConfigRead(0x34);
        a.and(eax, 0xFC);
        a.mov(esi, eax);                      // the capability's offset
        a.mov(edi, CapabilityHopLimit);
        a.Label(ref walk);
        a.test(esi, esi);
        a.jz(done);
        a.dec(edi);
        OnFailure(VirtioBlockGuestOutcome.CapabilityLoop, ok => a.jnz(ok));
        a.mov(__dword_ptr[VarCapability], esi);
        ConfigReadAt(esi, 0);                 // ID, next, cap_len, cfg_type
        a.cmp(al, VendorSpecificCapability);
        a.jne(advance);
        a.mov(ecx, eax);
        a.shr(ecx, 24);
        foreach (byte type in new[] { CommonCfg, NotifyCfg, DeviceCfg })
        {
            var other = a.CreateLabel();
            a.cmp(ecx, type);
            a.jne(other);
            a.test(__dword_ptr[VarFound], 1u << type);
            a.jnz(advance);                   // only the first of each type counts (§4.1.4)
            a.or(__dword_ptr[VarFound], 1u << type);
            CapabilityAddress();              // eax = BAR address + offset
            uint destination = type switch { CommonCfg => VarCommon, NotifyCfg => VarNotifyBase, _ => VarDevice };
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
        OnFailure(VirtioBlockGuestOutcome.MissingCommonConfiguration, ok => a.jnz(ok));
        a.test(eax, 1u << NotifyCfg);
        OnFailure(VirtioBlockGuestOutcome.MissingNotifyConfiguration, ok => a.jnz(ok));
        a.test(eax, 1u << DeviceCfg);
        OnFailure(VirtioBlockGuestOutcome.MissingDeviceConfiguration, ok => a.jnz(ok));
        a.mov(eax, __dword_ptr[VarCommon]);
        a.mov(__dword_ptr[L.ResultCommonConfiguration], eax);
        SetCommand(keep: 0xFFFF, set: CommandMemorySpace | CommandBusMaster);
    }

    /// <summary>eax = the address of the capability at VarCapability's structure: its BAR's address + its offset.</summary>
    private void CapabilityAddress()
    {
        var a = _a;
        ConfigReadAt(__dword_ptr[VarCapability], 4);   // bar, id, padding
        a.movzx(ebx, al);
        a.call(_resolveBar);
        a.push(eax);
        ConfigReadAt(__dword_ptr[VarCapability], 8);   // offset
        a.pop(ebx);
        a.add(eax, ebx);
    }

    /// <summary>§3.1.1 with VERSION_1 and the program's DriverFeatures, then queues 0 to QueueCount - 1 and DRIVER_OK.</summary>
    private void BringUpDevice()
    {
        var a = _a;
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
        FailNow(VirtioBlockGuestOutcome.ResetFailed);
        a.Label(ref resetDone);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver);
        // Feature bit 32 (VERSION_1) is bit 0 of the second feature dword.
        a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 1);
        a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
        a.test(eax, 1);
        OnFailure(VirtioBlockGuestOutcome.NoVersion1, ok => a.jnz(ok));
        if (_program.DriverFeatures != 0)
        {
            a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 0);
            a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
            a.and(eax, _program.DriverFeatures);
            a.cmp(eax, _program.DriverFeatures);
            OnFailure(VirtioBlockGuestOutcome.FeatureMissing, ok => a.je(ok));
        }
        a.mov(__dword_ptr[ebx + DriverFeatureSelect], 0);
        a.mov(__dword_ptr[ebx + DriverFeature], _program.DriverFeatures);
        if (_program.PackedRing)
        {
            // VIRTIO_F_RING_PACKED (bit 34) is bit 2 of the second feature dword.
            a.mov(__dword_ptr[ebx + DeviceFeatureSelect], 1);
            a.mov(eax, __dword_ptr[ebx + DeviceFeature]);
            a.test(eax, RingPackedHigh);
            OnFailure(VirtioBlockGuestOutcome.FeatureMissing, ok => a.jnz(ok));
        }
        a.mov(__dword_ptr[ebx + DriverFeatureSelect], 1);
        a.mov(__dword_ptr[ebx + DriverFeature], _program.PackedRing ? 1 | RingPackedHigh : 1);
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver | FeaturesOk);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, FeaturesOk);
        OnFailure(VirtioBlockGuestOutcome.FeaturesRejected, ok => a.jnz(ok));

        // The device configuration's first field: capacity in sectors (§5.2.4), read as two dwords.
        a.mov(esi, __dword_ptr[VarDevice]);
        a.mov(eax, __dword_ptr[esi]);
        a.mov(__dword_ptr[L.ResultCapacity], eax);
        a.mov(eax, __dword_ptr[esi + 4]);
        a.mov(__dword_ptr[L.ResultCapacity + 4], eax);

        a.movzx(eax, __word_ptr[ebx + NumQueues]);
        a.cmp(eax, _program.QueueCount);
        OnFailure(VirtioBlockGuestOutcome.QueueTooSmall, ok => a.jae(ok));
        for (int q = 0; q < _program.QueueCount; q++)
            SetUpQueue(q);
        if (_program.NotifyBeforeDriverOk)
        {
            a.mov(edx, __dword_ptr[VarNotify]);
            a.mov(__word_ptr[edx], 0);
        }
        a.mov(__byte_ptr[ebx + DeviceStatus], Acknowledge | Driver | FeaturesOk | DriverOk);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        OnFailure(VirtioBlockGuestOutcome.DeviceFailed, ok => a.jz(ok));
        a.test(eax, DriverOk);
        OnFailure(VirtioBlockGuestOutcome.DeviceFailed, ok => a.jnz(ok));

        Print("virtio-blk slot ");
        a.mov(eax, __dword_ptr[L.ResultSlot]);
        a.call(_printHex8);
        Print(" common ");
        a.mov(eax, __dword_ptr[VarCommon]);
        a.call(_printHex32);
        Print(" notify ");
        a.mov(eax, __dword_ptr[VarNotify]);
        a.call(_printHex32);
        Print(" capacity ");
        a.mov(eax, __dword_ptr[L.ResultCapacity + 4]);
        a.call(_printHex32);
        a.mov(eax, __dword_ptr[L.ResultCapacity]);
        a.call(_printHex32);
        Print("\n");
    }

    /// <summary>Queue <paramref name="queue"/> (ebx = the common configuration): size, no MSI-X vector, its rings (or, packed, the descriptor ring and the event suppression structures), its doorbell, enabled.</summary>
    private void SetUpQueue(int queue)
    {
        var a = _a;
        ushort size = _program.QueueSize;
        a.mov(__word_ptr[ebx + QueueSelect], (ushort)queue);
        a.movzx(eax, __word_ptr[ebx + QueueSizeField]);
        a.cmp(eax, size);
        OnFailure(VirtioBlockGuestOutcome.QueueTooSmall, ok => a.jae(ok));
        a.mov(__word_ptr[ebx + QueueSizeField], size);
        a.mov(__word_ptr[ebx + QueueMsixVector], 0xFFFF);   // NO_VECTOR: this driver polls
        a.mov(__dword_ptr[ebx + QueueDesc], L.DescriptorTableOf(queue));
        a.mov(__dword_ptr[ebx + QueueDesc + 4], 0);
        a.mov(__dword_ptr[ebx + QueueDriver], L.AvailableRingOf(queue));
        a.mov(__dword_ptr[ebx + QueueDriver + 4], 0);
        a.mov(__dword_ptr[ebx + QueueDevice], L.UsedRingOf(queue));
        a.mov(__dword_ptr[ebx + QueueDevice + 4], 0);
        if (_program.PackedRing)
            SetUpPackedQueue(queue);
        else
            a.mov(__word_ptr[L.AvailableRingOf(queue)], AvailNoInterrupt);
        // The queue's doorbell: notify cap offset + queue_notify_off × notify_off_multiplier (§4.1.4.4).
        a.movzx(eax, __word_ptr[ebx + QueueNotifyOff]);
        a.imul(eax, __dword_ptr[VarNotifyMultiplier]);
        a.add(eax, __dword_ptr[VarNotifyBase]);
        a.mov(__dword_ptr[QueueNotify(queue)], eax);
        if (queue == 0)
        {
            a.mov(__dword_ptr[VarNotify], eax);
            a.mov(__dword_ptr[L.ResultNotifyAddress], eax);
        }
        a.mov(__word_ptr[ebx + QueueEnable], 1);
    }

    // ---- Steps -------------------------------------------------------------------------------------

    private void EmitStep(int index, VirtioBlockStep step)
    {
        var a = _a;
        var repeat = a.CreateLabel();
        a.mov(__dword_ptr[L.ResultStep], (uint)index);
        a.mov(__dword_ptr[L.ResultRequest], 0);
        a.mov(__dword_ptr[VarSectorLow], (uint)step.Sector);
        a.mov(__dword_ptr[VarSectorHigh], (uint)(step.Sector >> 32));
        a.mov(__dword_ptr[VarSum], 0);
        a.mov(__dword_ptr[VarData], L.DataBuffer);
        a.Label(ref repeat);
        if (step.Kind == VirtioBlockStepKind.Write && step.FillSeed is { } seed)
        {
            a.mov(eax, seed);
            a.mov(ecx, step.Length / 4);
            a.call(_fill);
        }
        if (step.IsRange)
        {
            // The one segment (§5.2.6): le64 sector, le32 num_sectors, le32 flags; the header's sector is unused, so 0.
            a.mov(edi, __dword_ptr[VarData]);
            a.mov(eax, __dword_ptr[VarSectorLow]);
            a.mov(__dword_ptr[edi], eax);
            a.mov(eax, __dword_ptr[VarSectorHigh]);
            a.mov(__dword_ptr[edi + 4], eax);
            a.mov(__dword_ptr[edi + 8], step.RangeSectors);
            a.mov(__dword_ptr[edi + 12], step.RangeFlags);
            a.mov(__dword_ptr[VarHeaderSectorLow], 0);
            a.mov(__dword_ptr[VarHeaderSectorHigh], 0);
        }
        else
        {
            a.mov(eax, __dword_ptr[VarSectorLow]);
            a.mov(__dword_ptr[VarHeaderSectorLow], eax);
            a.mov(eax, __dword_ptr[VarSectorHigh]);
            a.mov(__dword_ptr[VarHeaderSectorHigh], eax);
        }
        a.mov(eax, (uint)step.Kind);
        a.mov(ecx, step.Length);
        a.mov(edx, step.DeviceWritesData ? DescWrite : 0u);
        a.call(_submit[step.Queue]);
        a.movzx(eax, __byte_ptr[L.RequestStatus]);
        a.cmp(eax, step.ExpectedStatus);
        OnFailure(VirtioBlockGuestOutcome.WrongStatus, ok => a.je(ok));
        if (step.Kind == VirtioBlockStepKind.Read && step.Checksum)
        {
            a.mov(ecx, step.Length / 4);
            a.call(_checksum);
        }
        if (step.SpreadBuffer)
            a.add(__dword_ptr[VarData], step.Length);
        a.add(__dword_ptr[VarSectorLow], (uint)step.Stride);
        a.adc(__dword_ptr[VarSectorHigh], (uint)(step.Stride >> 32));
        a.inc(__dword_ptr[L.ResultRequest]);
        a.cmp(__dword_ptr[L.ResultRequest], step.Count);
        a.jb(repeat);

        a.mov(eax, __dword_ptr[VarSum]);
        a.mov(__dword_ptr[L.ResultChecksums + 4 * (uint)index], eax);
        Print("step ");
        a.mov(eax, (uint)index);
        a.call(_printHex8);
        Print(" ok");
        if (step.Kind == VirtioBlockStepKind.Read && step.Checksum)
        {
            Print(" sum ");
            a.mov(eax, __dword_ptr[VarSum]);
            a.call(_printHex32);
        }
        if (step.Kind == VirtioBlockStepKind.GetId)
        {
            // The serial, up to its NUL padding (§5.2.6: no terminator when it is 20 bytes long).
            var next = a.CreateLabel();
            var end = a.CreateLabel();
            Print(" id ");
            a.mov(esi, L.DataBuffer);
            a.mov(ecx, VirtioBlockStep.IdLength);
            a.Label(ref next);
            a.mov(al, __byte_ptr[esi]);
            a.test(al, al);
            a.jz(end);
            a.@out(dx, al);
            a.inc(esi);
            a.dec(ecx);
            a.jnz(next);
            a.Label(ref end);
        }
        Print("\n");
    }

    // ---- Subroutines -------------------------------------------------------------------------------

    /// <summary>
    /// submit (one per queue): eax = request type, ecx = data length (0 for none), edx = the data descriptor's WRITE
    /// flag; the header's sector from VarHeaderSector. Builds the chain in the queue's descriptors 0–2, publishes it,
    /// rings the queue's doorbell and polls until the device returns it; checks the used element. Clobbers everything but ebp.
    /// </summary>
    private void EmitSubmit(int queue)
    {
        var a = _a;
        var noData = a.CreateLabel();
        var statusDescriptor = a.CreateLabel();
        var poll = a.CreateLabel();
        var completed = a.CreateLabel();
        var lengthChecked = a.CreateLabel();
        uint d0 = L.DescriptorTableOf(queue), d1 = d0 + 16, d2 = d0 + 32;
        uint availableRing = L.AvailableRingOf(queue), usedRing = L.UsedRingOf(queue);
        a.Label(ref _submit[queue]);
        a.mov(__dword_ptr[L.RequestHeader], eax);
        a.mov(__dword_ptr[L.RequestHeader + 4], 0);
        a.mov(eax, __dword_ptr[VarHeaderSectorLow]);
        a.mov(__dword_ptr[L.RequestHeader + 8], eax);
        a.mov(eax, __dword_ptr[VarHeaderSectorHigh]);
        a.mov(__dword_ptr[L.RequestHeader + 12], eax);
        a.mov(__byte_ptr[L.RequestStatus], 0xFF);
        // Bytes the device must write: the data when it is device-writable, and the status byte.
        a.mov(__dword_ptr[VarExpectedLength], 1);
        // Descriptor 0: the header, device-readable.
        a.mov(__dword_ptr[d0], L.RequestHeader);
        a.mov(__dword_ptr[d0 + 4], 0);
        a.mov(__dword_ptr[d0 + 8], 16);
        a.mov(__word_ptr[d0 + 12], DescNext);
        a.test(ecx, ecx);
        a.jz(noData);
        a.mov(__word_ptr[d0 + 14], 1);
        a.mov(eax, __dword_ptr[VarData]);
        a.mov(__dword_ptr[d1], eax);
        a.mov(__dword_ptr[d1 + 4], 0);
        a.mov(__dword_ptr[d1 + 8], ecx);
        a.mov(eax, edx);
        a.or(eax, DescNext);
        a.mov(__word_ptr[d1 + 12], ax);
        a.mov(__word_ptr[d1 + 14], 2);
        a.test(edx, edx);
        a.jz(statusDescriptor);
        a.add(__dword_ptr[VarExpectedLength], ecx);
        a.jmp(statusDescriptor);
        a.Label(ref noData);
        a.mov(__word_ptr[d0 + 14], 2);
        a.Label(ref statusDescriptor);
        a.mov(__dword_ptr[d2], L.RequestStatus);
        a.mov(__dword_ptr[d2 + 4], 0);
        a.mov(__dword_ptr[d2 + 8], 1);
        a.mov(__word_ptr[d2 + 12], DescWrite);
        a.mov(__word_ptr[d2 + 14], 0);
        // Publish head 0 at ring[idx % size], then idx + 1 (§2.7.13): x86 keeps stores in order, and the
        // fence orders them before the doorbell write.
        a.movzx(eax, __word_ptr[availableRing + 2]);
        a.mov(ebx, eax);
        a.and(ebx, _program.QueueSize - 1);
        a.mov(__word_ptr[ebx * 2 + (availableRing + 4)], 0);
        a.inc(eax);
        a.mov(__word_ptr[availableRing + 2], ax);
        a.mfence();
        a.movzx(esi, ax);                      // the used.idx that means "done"
        a.mov(edx, __dword_ptr[QueueNotify(queue)]);
        a.mov(eax, (uint)queue);               // the queue index, as a 16-bit write (§4.1.5.2) or a dword
        if (_program.NotifyWidth == 4)
            a.mov(__dword_ptr[edx], eax);
        else
            a.mov(__word_ptr[edx], ax);
        a.xor(edi, edi);
        a.Label(ref poll);
        a.movzx(eax, __word_ptr[usedRing + 2]);
        a.cmp(eax, esi);
        a.je(completed);
        a.pause();
        a.inc(edi);
        a.test(edi, 0xF_FFFF);
        a.jnz(poll);
        // Now and then, see whether the device gave up on the queue (DEVICE_NEEDS_RESET) instead of answering.
        a.mov(ebx, __dword_ptr[VarCommon]);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        a.jz(poll);
        FailNow(VirtioBlockGuestOutcome.DeviceFailed);
        a.Label(ref completed);
        a.lea(ebx, __[esi - 1]);
        a.and(ebx, _program.QueueSize - 1);
        a.mov(eax, __dword_ptr[ebx * 8 + (usedRing + 4)]);
        a.test(eax, eax);
        OnFailure(VirtioBlockGuestOutcome.WrongUsedId, ok => a.jz(ok));
        // The length is exact only when the request succeeded; a failed one may stop anywhere.
        a.cmp(__byte_ptr[L.RequestStatus], 0);
        a.jne(lengthChecked);
        a.mov(eax, __dword_ptr[ebx * 8 + (usedRing + 8)]);
        a.cmp(eax, __dword_ptr[VarExpectedLength]);
        OnFailure(VirtioBlockGuestOutcome.WrongUsedLength, ok => a.je(ok));
        a.Label(ref lengthChecked);
        a.ret();
    }

    /// <summary>checksum: folds ecx dwords of this request's data into VarSum (see <see cref="VirtioBlockChecksum"/>).</summary>
    private void EmitChecksum()
    {
        var a = _a;
        var loop = a.CreateLabel();
        a.Label(ref _checksum);
        a.mov(eax, __dword_ptr[VarSum]);
        a.mov(esi, __dword_ptr[VarData]);
        a.Label(ref loop);
        a.rol(eax, 5);
        a.add(eax, __dword_ptr[esi]);
        a.add(esi, 4);
        a.dec(ecx);
        a.jnz(loop);
        a.mov(__dword_ptr[VarSum], eax);
        a.ret();
    }

    /// <summary>fill: this request's first ecx dwords of data become eax, eax + 1, ….</summary>
    private void EmitFill()
    {
        var a = _a;
        var loop = a.CreateLabel();
        a.Label(ref _fill);
        a.mov(edi, __dword_ptr[VarData]);
        a.Label(ref loop);
        a.stosd();
        a.inc(eax);
        a.dec(ecx);
        a.jnz(loop);
        a.ret();
    }

    /// <summary>
    /// resolveBar: ebx = BAR index; eax = its address. Assigns it (sized, naturally aligned at VarNextBar) when it is
    /// 0 or the program reassigns BARs; a BAR is resolved once. Memory decoding is off while this runs. Keeps esi and edi.
    /// </summary>
    private void EmitResolveBar()
    {
        var a = _a;
        var known = a.CreateLabel();
        var low = a.CreateLabel();
        var assign = a.CreateLabel();
        var store = a.CreateLabel();
        var notUpperHalf = a.CreateLabel();
        a.Label(ref _resolveBar);
        a.push(esi);
        a.push(edi);
        a.cmp(ebx, 5);
        OnFailure(VirtioBlockGuestOutcome.UnusableBar, ok => a.jbe(ok));
        a.bt(__dword_ptr[VarBarsResolved], ebx);
        a.jc(known);
        a.lea(esi, __[ebx * 4 + 0x10]);       // the BAR's register
        ConfigReadAt(esi, 0);
        a.test(eax, 1);                         // an I/O BAR: not what virtio structures live in
        OnFailure(VirtioBlockGuestOutcome.UnusableBar, ok => a.jz(ok));
        // A capability naming the upper half of a 64-bit BAR (the register before it says "64-bit") is unusable.
        a.test(ebx, ebx);
        a.jz(notUpperHalf);
        a.push(eax);
        ConfigReadAt(esi, -4);
        a.and(eax, 0x7);
        a.cmp(eax, 0x4);
        a.pop(eax);
        OnFailure(VirtioBlockGuestOutcome.UnusableBar, ok => a.jne(ok));
        a.Label(ref notUpperHalf);
        a.mov(edi, eax);
        a.and(edi, 0x6);                        // type: 0 = 32-bit, 4 = 64-bit (bits 2:1 = 10b)
        a.cmp(edi, 4);
        a.jne(low);
        a.cmp(ebx, 5);
        OnFailure(VirtioBlockGuestOutcome.UnusableBar, ok => a.jb(ok));
        if (!_program.ReassignBars)
        {
            a.push(eax);
            ConfigReadAt(esi, 4);
            a.test(eax, eax);
            a.pop(eax);
            OnFailure(VirtioBlockGuestOutcome.BarAbove4GiB, ok => a.jz(ok));
        }
        a.Label(ref low);
        a.and(eax, 0xFFFF_FFF0);
        if (_program.ReassignBars)
            a.jmp(assign);
        a.test(eax, eax);
        a.jnz(store);
        if (_program.BarAssignmentBase is null)
            FailNow(VirtioBlockGuestOutcome.BarUnassigned);
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
        var a = _a;
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
        var a = _a;
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

    /// <summary>fail: bl = outcome. Records it, prints "FAIL oo step ssssssss request rrrrrrrr status tt", exits with it.</summary>
    private void EmitFail()
    {
        var a = _a;
        a.Label(ref _fail);
        a.mov(__byte_ptr[L.ResultOutcome], bl);
        Print("FAIL ");
        a.movzx(eax, bl);
        a.call(_printHex8);
        Print(" step ");
        a.mov(eax, __dword_ptr[L.ResultStep]);
        a.call(_printHex32);
        Print(" request ");
        a.mov(eax, __dword_ptr[L.ResultRequest]);
        a.call(_printHex32);
        Print(" status ");
        a.movzx(eax, __byte_ptr[L.RequestStatus]);
        a.call(_printHex8);
        Print("\n");
        ExitWithBl();
    }

    // ---- Emission helpers --------------------------------------------------------------------------

    private void ExitWithBl()
    {
        var a = _a;
        var halt = a.CreateLabel();
        a.mov(al, bl);
        a.mov(dx, GuestCode.DebugExit);
        a.@out(dx, al);
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    }

    private void FailNow(VirtioBlockGuestOutcome outcome)
    {
        _a.mov(bl, (byte)outcome);
        _a.jmp(_fail);
    }

    /// <summary>Emits <paramref name="jumpIfOk"/> (a conditional jump to its label), then the failure it skips.</summary>
    private void OnFailure(VirtioBlockGuestOutcome outcome, Action<Label> jumpIfOk)
    {
        var ok = _a.CreateLabel();
        jumpIfOk(ok);
        FailNow(outcome);
        Place(ref ok);
    }

    /// <summary>Places <paramref name="label"/> here on an empty instruction, so another label may follow at once (Iced allows one per instruction).</summary>
    private void Place(ref Label label)
    {
        _a.Label(ref label);
        _a.zero_bytes();
    }

    private void Print(string text) => GuestCode.Print32(_a, text);

    /// <summary>eax = the function's configuration dword at <paramref name="register"/>.</summary>
    private void ConfigRead(int register)
    {
        _a.mov(eax, __dword_ptr[VarPciBase]);
        _a.or(eax, register);
        _a.call(_pciRead);
    }

    /// <summary>eax = the configuration dword at register <paramref name="offset"/> + <paramref name="delta"/>.</summary>
    private void ConfigReadAt(AssemblerRegister32 offset, int delta)
    {
        _a.lea(eax, __[offset + delta]);
        _a.or(eax, __dword_ptr[VarPciBase]);
        _a.call(_pciRead);
    }

    private void ConfigReadAt(AssemblerMemoryOperand offset, int delta)
    {
        _a.mov(eax, offset);
        _a.add(eax, delta);
        _a.or(eax, __dword_ptr[VarPciBase]);
        _a.call(_pciRead);
    }

    /// <summary>Writes ecx to the configuration dword at register <paramref name="offset"/> + <paramref name="delta"/>.</summary>
    private void ConfigWriteAt(AssemblerRegister32 offset, int delta)
    {
        _a.lea(eax, __[offset + delta]);
        _a.or(eax, __dword_ptr[VarPciBase]);
        _a.call(_pciWrite32);
    }

    /// <summary>Command = (Command &amp; keep) | set, as a word write (the Status half is write-one-to-clear).</summary>
    private void SetCommand(ushort keep, ushort set)
    {
        ConfigRead(0x04);
        _a.and(eax, keep);
        _a.or(eax, set);
        _a.mov(ecx, eax);
        _a.mov(eax, __dword_ptr[VarPciBase]);
        _a.or(eax, 0x04);
        _a.call(_pciWrite16);
    }
}
