using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioBlockGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// Writes <see cref="VirtioBlockGuest"/>'s code on the shared driver (<see cref="VirtioPciDriverEmitter"/>: the
/// function, its capabilities and BARs, feature negotiation, the program's queues, doorbells of its width). Each request
/// is one descriptor chain (header, data, status; virtio 1.2 §5.2.6) published in its queue's available ring and reaped
/// by polling used.idx, or, when the program asks for packed rings, written into the queue's descriptor ring and reaped
/// by polling its first descriptor's flags. The step code is unrolled, one block per step; each queue has a submit subroutine of its own.
/// </summary>
internal sealed class VirtioBlockGuestEmitter
{
    private const ushort DescNext = VirtioPciDriverEmitter.DescNext, DescWrite = VirtioPciDriverEmitter.DescWrite;

    // The guest's own variables (dwords).
    private const uint VarSectorLow = L.Variables + 0x00;
    private const uint VarSectorHigh = L.Variables + 0x04;
    private const uint VarSum = L.Variables + 0x08;
    private const uint VarExpectedLength = L.Variables + 0x0C;
    private const uint VarData = L.Variables + 0x10;         // this request's data: the buffer, or further on when spread
    private const uint VarHeaderSectorLow = L.Variables + 0x14;  // the request header's sector field
    private const uint VarHeaderSectorHigh = L.Variables + 0x18;
    private const uint VarDataLength = L.Variables + 0x1C;       // packed: the submitted data length and WRITE flag
    private const uint VarDataFlags = L.Variables + 0x20;

    private readonly Assembler _a;
    private readonly VirtioPciDriverEmitter _driver;
    private readonly VirtioBlockGuestProgram _program;
    private readonly Label[] _submit;
    private Label _checksum, _fill;

    public VirtioBlockGuestEmitter(Assembler assembler, VirtioBlockGuestProgram program)
    {
        _a = assembler;
        _program = program;
        _driver = new VirtioPciDriverEmitter(assembler,
            new VirtioPciDriverOptions(VirtioBlockGuest.DeviceType, program.DeviceIndex, program.BarAssignmentBase, program.ReassignBars,
                program.DriverFeatures, program.NotifyWidth, program.WaitForIntx, program.PackedRing),
            EmitFailureDetail);
        _submit = new Label[program.QueueCount];
    }

    public void Emit()
    {
        var a = _a;
        var d = _driver;
        for (int q = 0; q < _submit.Length; q++)
            _submit[q] = a.CreateLabel();
        _checksum = a.CreateLabel();
        _fill = a.CreateLabel();

        d.Start();
        a.mov(__dword_ptr[L.ResultStep], 0xFFFF_FFFF);   // "bring-up" until the first step starts
        d.FindFunction();
        d.WalkCapabilities(requireDeviceConfiguration: true);
        d.NegotiateFeatures();
        // The device configuration's first field: capacity in sectors (§5.2.4), read as two dwords.
        a.mov(esi, __dword_ptr[VirtioPciDriverEmitter.DeviceConfiguration]);
        a.mov(eax, __dword_ptr[esi]);
        a.mov(__dword_ptr[L.ResultCapacity], eax);
        a.mov(eax, __dword_ptr[esi + 4]);
        a.mov(__dword_ptr[L.ResultCapacity + 4], eax);
        d.SetUpQueues(_program.QueueCount, _program.QueueSize);
        if (_program.NotifyBeforeDriverOk)
        {
            a.mov(edx, __dword_ptr[VirtioPciDriverEmitter.NotifyAddressOf(0)]);
            a.mov(__word_ptr[edx], 0);
        }
        d.DriverOk();
        d.PrintFound("virtio-blk");
        Print(" capacity ");
        a.mov(eax, __dword_ptr[L.ResultCapacity + 4]);
        a.call(d.PrintHex32);
        a.mov(eax, __dword_ptr[L.ResultCapacity]);
        a.call(d.PrintHex32);
        Print("\n");

        if (_program.RequestPhaseMarker is { } marker && !_program.MarkEachStep)
            EmitMark(marker);
        for (int i = 0; i < _program.Steps.Count; i++)
        {
            if (_program.HoldBeforeStep == i)
                EmitHold();
            EmitStep(i, _program.Steps[i]);
        }
        if (_program.ParkWhenDone)
            EmitPark();
        else
            d.Succeed();

        d.EmitSubroutines();
        for (int q = 0; q < _submit.Length; q++)
        {
            if (_program.PackedRing)
                EmitSubmitPacked(q);
            else
                EmitSubmit(q);
        }
        EmitChecksum();
        EmitFill();
    }

    /// <summary>The "FAIL" line's tail: " step ssssssss request rrrrrrrr status tt".</summary>
    private void EmitFailureDetail()
    {
        var a = _a;
        Print(" step ");
        a.mov(eax, __dword_ptr[L.ResultStep]);
        a.call(_driver.PrintHex32);
        Print(" request ");
        a.mov(eax, __dword_ptr[L.ResultRequest]);
        a.call(_driver.PrintHex32);
        Print(" status ");
        a.movzx(eax, __byte_ptr[L.RequestStatus]);
        a.call(_driver.PrintHex8);
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
        if (_program.MarkEachStep)
            EmitMark(_program.RequestPhaseMarker!.Value);
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
        _driver.OnFailure(VirtioGuestOutcome.WrongStatus, ok => a.je(ok));
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
        if (_program.MarkEachStep)
            EmitMark(_program.RequestPhaseMarker!.Value);

        a.mov(eax, __dword_ptr[VarSum]);
        a.mov(__dword_ptr[L.ResultChecksums + 4 * (uint)index], eax);
        Print("step ");
        a.mov(eax, (uint)index);
        a.call(_driver.PrintHex8);
        Print(" ok");
        if (step.Kind == VirtioBlockStepKind.Read && step.Checksum)
        {
            Print(" sum ");
            a.mov(eax, __dword_ptr[VarSum]);
            a.call(_driver.PrintHex32);
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

    /// <summary>The boot timer's magic byte (Firecracker's, 123) at <paramref name="marker"/>: one MMIO exit the host sees with its time.</summary>
    private void EmitMark(uint marker) => _a.mov(__byte_ptr[marker], 123);

    /// <summary>"hold", then poll COM1's LSR until data ready (bit 0) and read the byte from RBR, so the FIFO is empty again.</summary>
    private void EmitHold()
    {
        var a = _a;
        var poll = a.CreateLabel();
        Print("hold\n");
        a.mov(dx, GuestCode.Com1 + 5);
        a.Label(ref poll);
        a.@in(al, dx);
        a.test(al, 1);
        a.jz(poll);
        a.mov(dx, GuestCode.Com1);
        a.@in(al, dx);
    }

    /// <summary>"parked", then halt for good: with interrupts off nothing wakes the vCPU, and nothing more reaches the disk.</summary>
    private void EmitPark()
    {
        var a = _a;
        var halt = a.CreateLabel();
        Print("parked\n");
        a.cli();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
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
        uint d0 = VirtioGuestLayout.DescriptorTable(queue), d1 = d0 + 16, d2 = d0 + 32, used = VirtioGuestLayout.UsedRing(queue);
        a.Label(ref _submit[queue]);
        StartRequest();
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
        // One request in flight: the used index before it is the available index before it.
        a.xor(edx, edx);
        _driver.Publish(queue, _program.QueueSize, dx);
        a.lea(esi, __[eax - 1]);
        _driver.Notify(queue);
        _driver.WaitForUsed(queue, si);
        a.mov(esi, eax);
        a.lea(ebx, __[esi - 1]);
        a.and(ebx, _program.QueueSize - 1);
        a.mov(eax, __dword_ptr[ebx * 8 + (used + 4)]);
        CheckUsedElement(__dword_ptr[ebx * 8 + (used + 8)]);
        a.ret();
    }

    /// <summary>
    /// submit for a packed queue: the same contract as <see cref="EmitSubmit"/>. The chain goes into the ring from the
    /// queue's next position (header, data, status), made available by its first descriptor's flags; the used
    /// descriptor comes back at that position.
    /// </summary>
    private void EmitSubmitPacked(int queue)
    {
        var a = _a;
        var d = _driver;
        ushort size = _program.QueueSize;
        var noData = a.CreateLabel();
        a.Label(ref _submit[queue]);
        a.mov(__dword_ptr[VarDataLength], ecx);
        a.mov(__dword_ptr[VarDataFlags], edx);
        StartRequest();
        d.BeginPackedChain(queue);
        d.PutPackedDescriptor(queue, size, first: true,
            () => a.mov(__dword_ptr[edi], L.RequestHeader),
            () => a.mov(__dword_ptr[edi + 8], 16),
            () => a.mov(eax, (uint)DescNext));
        a.cmp(__dword_ptr[VarDataLength], 0);
        a.je(noData);
        d.PutPackedDescriptor(queue, size, first: false,
            () => { a.mov(eax, __dword_ptr[VarData]); a.mov(__dword_ptr[edi], eax); },
            () => { a.mov(eax, __dword_ptr[VarDataLength]); a.mov(__dword_ptr[edi + 8], eax); },
            () => { a.mov(eax, __dword_ptr[VarDataFlags]); a.or(eax, DescNext); });
        a.cmp(__dword_ptr[VarDataFlags], 0);
        a.je(noData);
        a.mov(eax, __dword_ptr[VarDataLength]);
        a.add(__dword_ptr[VarExpectedLength], eax);
        a.Label(ref noData);
        d.PutPackedDescriptor(queue, size, first: false,
            () => a.mov(__dword_ptr[edi], L.RequestStatus),
            () => a.mov(__dword_ptr[edi + 8], 1),
            () => a.mov(eax, (uint)DescWrite));
        d.ExposePackedChain();
        d.Notify(queue);
        d.WaitForPackedUsed();
        a.movzx(eax, __word_ptr[edi + 12]);
        CheckUsedElement(__dword_ptr[edi + 8]);
        a.ret();
    }

    /// <summary>
    /// Both submits' start: the request header (type eax, the sector from VarHeaderSector), the status byte preset to
    /// 0xFF, and the bytes the device must write counted from the status byte (the data's are added when device-writable).
    /// </summary>
    private void StartRequest()
    {
        var a = _a;
        a.mov(__dword_ptr[L.RequestHeader], eax);
        a.mov(__dword_ptr[L.RequestHeader + 4], 0);
        a.mov(eax, __dword_ptr[VarHeaderSectorLow]);
        a.mov(__dword_ptr[L.RequestHeader + 8], eax);
        a.mov(eax, __dword_ptr[VarHeaderSectorHigh]);
        a.mov(__dword_ptr[L.RequestHeader + 12], eax);
        a.mov(__byte_ptr[L.RequestStatus], 0xFF);
        a.mov(__dword_ptr[VarExpectedLength], 1);
    }

    /// <summary>Both submits' end: eax = the used element's id, which must be the chain's (0); <paramref name="length"/> its byte count.</summary>
    private void CheckUsedElement(AssemblerMemoryOperand length)
    {
        var a = _a;
        var lengthChecked = a.CreateLabel();
        a.test(eax, eax);
        _driver.OnFailure(VirtioGuestOutcome.WrongUsedId, ok => a.jz(ok));
        // The length is exact only when the request succeeded; a failed one may stop anywhere.
        a.cmp(__byte_ptr[L.RequestStatus], 0);
        a.jne(lengthChecked);
        a.mov(eax, length);
        a.cmp(eax, __dword_ptr[VarExpectedLength]);
        _driver.OnFailure(VirtioGuestOutcome.WrongUsedLength, ok => a.je(ok));
        a.Label(ref lengthChecked);
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

    private void Print(string text) => _driver.Print(text);
}
