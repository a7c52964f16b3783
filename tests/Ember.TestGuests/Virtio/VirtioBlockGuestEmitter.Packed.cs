using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioBlockGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// The packed-ring half of the guest driver (virtio 1.2 §2.8): each request is a chain of descriptors written in ring
/// order from the queue's next position, with the buffer id (0: one request in flight) in each, AVAIL/USED set for
/// the Driver Ring Wrap Counter, and the first descriptor's flags stored last (§2.8.6). The device uses in order here,
/// so the used descriptor comes back at the chain's first position; the driver polls its flags for AVAIL = USED =
/// the wrap counter the chain started with (§2.8.1).
/// </summary>
internal sealed partial class VirtioBlockGuestEmitter
{
    private const uint RingPackedHigh = 1 << 2;           // feature bit 34 in the second feature dword
    private const ushort PackedAvail = 1 << 7;            // VIRTQ_DESC_F_AVAIL
    private const ushort PackedUsed = 1 << 15;            // VIRTQ_DESC_F_USED
    private const ushort RingEventFlagsDisable = 1;

    // Per queue (dword each): the next ring position, and the AVAIL/USED bits that mean "available" at it (the Driver
    // Ring Wrap Counter: AVAIL while it is 1, USED while it is 0).
    private const uint VarPackedNext = L.Variables + 0x80;
    private const uint VarPackedAvailBits = L.Variables + 0x90;
    // The request being built: data length and WRITE flag, the first descriptor's address and flags, the used flags awaited.
    private const uint VarPackedDataLength = L.Variables + 0xA0;
    private const uint VarPackedDataFlags = L.Variables + 0xA4;
    private const uint VarPackedFirst = L.Variables + 0xA8;
    private const uint VarPackedFirstFlags = L.Variables + 0xAC;
    private const uint VarPackedUsedBits = L.Variables + 0xB0;

    private static uint PackedNext(int queue) => VarPackedNext + (4 * (uint)queue);

    private static uint PackedAvailBits(int queue) => VarPackedAvailBits + (4 * (uint)queue);

    /// <summary>Position 0, wrap counter 1, and the driver event suppression structure saying DISABLE (this driver polls).</summary>
    private void SetUpPackedQueue(int queue)
    {
        var a = _a;
        a.mov(__dword_ptr[PackedNext(queue)], 0);
        a.mov(__dword_ptr[PackedAvailBits(queue)], PackedAvail);
        a.mov(__word_ptr[L.AvailableRingOf(queue) + 2], RingEventFlagsDisable);
    }

    /// <summary>
    /// submit for a packed queue: the same contract as the split one (eax = request type, ecx = data length or 0, edx =
    /// the data descriptor's WRITE flag; clobbers everything but ebp).
    /// </summary>
    private void EmitSubmitPacked(int queue)
    {
        var a = _a;
        var noData = a.CreateLabel();
        var poll = a.CreateLabel();
        var completed = a.CreateLabel();
        var lengthChecked = a.CreateLabel();
        a.Label(ref _submit[queue]);
        a.mov(__dword_ptr[L.RequestHeader], eax);
        a.mov(__dword_ptr[L.RequestHeader + 4], 0);
        a.mov(eax, __dword_ptr[VarHeaderSectorLow]);
        a.mov(__dword_ptr[L.RequestHeader + 8], eax);
        a.mov(eax, __dword_ptr[VarHeaderSectorHigh]);
        a.mov(__dword_ptr[L.RequestHeader + 12], eax);
        a.mov(__byte_ptr[L.RequestStatus], 0xFF);
        a.mov(__dword_ptr[VarPackedDataLength], ecx);
        a.mov(__dword_ptr[VarPackedDataFlags], edx);
        a.mov(__dword_ptr[VarExpectedLength], 1);
        // The used flags to wait for: AVAIL = USED = the wrap counter at the chain's first position.
        a.mov(eax, __dword_ptr[PackedAvailBits(queue)]);
        a.and(eax, PackedAvail);
        a.mov(ecx, eax);
        a.shl(ecx, 8);
        a.or(ecx, eax);
        a.mov(__dword_ptr[VarPackedUsedBits], ecx);

        PutDescriptor(queue, first: true, () => a.mov(__dword_ptr[edi], L.RequestHeader), () => a.mov(__dword_ptr[edi + 8], 16), () => a.mov(eax, (uint)DescNext));
        a.cmp(__dword_ptr[VarPackedDataLength], 0);
        a.je(noData);
        PutDescriptor(queue, first: false,
            () => { a.mov(eax, __dword_ptr[VarData]); a.mov(__dword_ptr[edi], eax); },
            () => { a.mov(eax, __dword_ptr[VarPackedDataLength]); a.mov(__dword_ptr[edi + 8], eax); },
            () => { a.mov(eax, __dword_ptr[VarPackedDataFlags]); a.or(eax, DescNext); });
        a.cmp(__dword_ptr[VarPackedDataFlags], 0);
        a.je(noData);
        a.mov(eax, __dword_ptr[VarPackedDataLength]);
        a.add(__dword_ptr[VarExpectedLength], eax);
        a.Label(ref noData);
        PutDescriptor(queue, first: false, () => a.mov(__dword_ptr[edi], L.RequestStatus), () => a.mov(__dword_ptr[edi + 8], 1), () => a.mov(eax, (uint)DescWrite));

        // Expose the chain: the first descriptor's flags last (x86 keeps the stores in order), then the doorbell.
        a.mov(edi, __dword_ptr[VarPackedFirst]);
        a.mov(eax, __dword_ptr[VarPackedFirstFlags]);
        a.mov(__word_ptr[edi + 14], ax);
        a.mfence();
        a.mov(edx, __dword_ptr[QueueNotify(queue)]);
        a.mov(eax, (uint)queue);
        if (_program.NotifyWidth == 4)
            a.mov(__dword_ptr[edx], eax);
        else
            a.mov(__word_ptr[edx], ax);
        a.mov(esi, __dword_ptr[VarPackedUsedBits]);
        a.xor(ecx, ecx);
        a.Label(ref poll);
        a.movzx(eax, __word_ptr[edi + 14]);
        a.and(eax, PackedAvail | PackedUsed);
        a.cmp(eax, esi);
        a.je(completed);
        a.pause();
        a.inc(ecx);
        a.test(ecx, 0xF_FFFF);
        a.jnz(poll);
        a.mov(ebx, __dword_ptr[VarCommon]);
        a.movzx(eax, __byte_ptr[ebx + DeviceStatus]);
        a.test(eax, DeviceNeedsReset);
        a.jz(poll);
        FailNow(VirtioBlockGuestOutcome.DeviceFailed);
        a.Label(ref completed);
        a.movzx(eax, __word_ptr[edi + 12]);
        a.test(eax, eax);
        OnFailure(VirtioBlockGuestOutcome.WrongUsedId, ok => a.jz(ok));
        a.cmp(__byte_ptr[L.RequestStatus], 0);
        a.jne(lengthChecked);
        a.mov(eax, __dword_ptr[edi + 8]);
        a.cmp(eax, __dword_ptr[VarExpectedLength]);
        OnFailure(VirtioBlockGuestOutcome.WrongUsedLength, ok => a.je(ok));
        a.Label(ref lengthChecked);
        a.ret();
    }

    /// <summary>
    /// One descriptor at the queue's next position (edi = its address): address, length, id 0, and flags = the emitted
    /// eax | the available bits, held back for the first one; then the position moves on, toggling the wrap counter at
    /// the end of the ring.
    /// </summary>
    private void PutDescriptor(int queue, bool first, Action address, Action length, Action flagsToEax)
    {
        var a = _a;
        var noWrap = a.CreateLabel();
        a.mov(edi, __dword_ptr[PackedNext(queue)]);
        a.shl(edi, 4);
        a.add(edi, L.DescriptorTableOf(queue));
        address();
        a.mov(__dword_ptr[edi + 4], 0);
        length();
        a.mov(__word_ptr[edi + 12], 0);
        flagsToEax();
        a.or(eax, __dword_ptr[PackedAvailBits(queue)]);
        if (first)
        {
            a.mov(__dword_ptr[VarPackedFirst], edi);
            a.mov(__dword_ptr[VarPackedFirstFlags], eax);
        }
        else
        {
            a.mov(__word_ptr[edi + 14], ax);
        }
        a.mov(eax, __dword_ptr[PackedNext(queue)]);
        a.inc(eax);
        a.cmp(eax, (uint)_program.QueueSize);
        a.jb(noWrap);
        a.xor(eax, eax);
        a.xor(__dword_ptr[PackedAvailBits(queue)], PackedAvail | PackedUsed);
        a.Label(ref noWrap);
        a.mov(__dword_ptr[PackedNext(queue)], eax);
    }
}
