using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// The shared driver's packed-ring half (virtio 1.2 §2.8), beside the split ring's Publish and WaitForUsed: a queue's
/// descriptor ring sits in its descriptor-table page, the driver event suppression structure in its available-ring page
/// (flags DISABLE while this driver polls, ENABLE when it waits for INTx), the device's in its used-ring page. A chain is written in ring order from the
/// queue's next position, each descriptor with AVAIL/USED set for the Driver Ring Wrap Counter, the first descriptor's
/// flags stored last (§2.8.6). With one chain in flight the device uses it at the chain's first position, so the
/// driver polls that descriptor's flags for AVAIL = USED = the wrap counter the chain started with (§2.8.1).
/// </summary>
internal sealed partial class VirtioPciDriverEmitter
{
    private const uint RingPackedHigh = 1 << 2;           // VIRTIO_F_RING_PACKED, feature bit 34, in the second feature dword
    private const ushort PackedAvail = 1 << 7;            // VIRTQ_DESC_F_AVAIL
    private const ushort PackedUsed = 1 << 15;            // VIRTQ_DESC_F_USED
    private const ushort RingEventFlagsEnable = 0, RingEventFlagsDisable = 1;

    // Per queue (a dword each): the next ring position, and the AVAIL/USED bits that mean "available" at it (the Driver
    // Ring Wrap Counter: AVAIL while it is 1, USED while it is 0).
    private const uint VarPackedNext = L.Variables + 0xB0;
    private const uint VarPackedAvailBits = L.Variables + 0xC0;
    // The chain being built: its first descriptor's address and flags, and the used flags awaited there.
    private const uint VarPackedFirst = L.Variables + 0xD0;
    private const uint VarPackedFirstFlags = L.Variables + 0xD4;
    private const uint VarPackedUsedBits = L.Variables + 0xD8;

    private static uint PackedNext(int queue) => VarPackedNext + (4 * (uint)queue);

    private static uint PackedAvailBits(int queue) => VarPackedAvailBits + (4 * (uint)queue);

    /// <summary>Position 0, wrap counter 1, and the driver event suppression structure: DISABLE, or ENABLE for INTx waits.</summary>
    private void SetUpPackedQueue(int queue)
    {
        var a = A;
        a.mov(__dword_ptr[PackedNext(queue)], 0);
        a.mov(__dword_ptr[PackedAvailBits(queue)], PackedAvail);
        a.mov(__word_ptr[L.AvailableRing(queue) + 2], _options.WaitForIntx ? RingEventFlagsEnable : RingEventFlagsDisable);
    }

    /// <summary>Starts a chain at queue <paramref name="queue"/>'s next position: the used flags to wait for are AVAIL = USED = its wrap counter. Clobbers eax, ecx.</summary>
    public void BeginPackedChain(int queue)
    {
        RequirePackedRing();
        var a = A;
        a.mov(eax, __dword_ptr[PackedAvailBits(queue)]);
        a.and(eax, PackedAvail);
        a.mov(ecx, eax);
        a.shl(ecx, 8);
        a.or(ecx, eax);
        a.mov(__dword_ptr[VarPackedUsedBits], ecx);
    }

    /// <summary>
    /// One descriptor at queue <paramref name="queue"/>'s next position (edi = its address while the actions run):
    /// <paramref name="address"/> stores the buffer's low dword at [edi], <paramref name="length"/> its length at [edi + 8],
    /// <paramref name="flagsToEax"/> leaves NEXT/WRITE in eax. Id 0 (one chain in flight); flags | the available bits, held
    /// back for the chain's first descriptor. Then the position moves on, toggling the wrap counter at the end of a ring of
    /// <paramref name="size"/>. Clobbers eax, edi.
    /// </summary>
    public void PutPackedDescriptor(int queue, ushort size, bool first, Action address, Action length, Action flagsToEax)
    {
        RequirePackedRing();
        var a = A;
        var noWrap = a.CreateLabel();
        a.mov(edi, __dword_ptr[PackedNext(queue)]);
        a.shl(edi, 4);
        a.add(edi, L.DescriptorTable(queue));
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
        a.cmp(eax, (uint)size);
        a.jb(noWrap);
        a.xor(eax, eax);
        a.xor(__dword_ptr[PackedAvailBits(queue)], PackedAvail | PackedUsed);
        a.Label(ref noWrap);
        a.mov(__dword_ptr[PackedNext(queue)], eax);
    }

    /// <summary>Makes the chain available: its first descriptor's flags, stored after the rest (x86 keeps stores in order). Clobbers eax, edi.</summary>
    public void ExposePackedChain()
    {
        RequirePackedRing();
        var a = A;
        a.mov(edi, __dword_ptr[VarPackedFirst]);
        a.mov(eax, __dword_ptr[VarPackedFirstFlags]);
        a.mov(__word_ptr[edi + 14], ax);
    }

    /// <summary>
    /// Polls the chain's first descriptor until the device marks it used (after its INTx, as for the split ring, when
    /// the options wait for it); edi = that descriptor then (its id at [edi + 12], the bytes written at [edi + 8]). Now
    /// and then it looks at device_status, and fails if the device gave up (DEVICE_NEEDS_RESET) instead of answering.
    /// Clobbers eax, ebx, ecx, edx, esi.
    /// </summary>
    public void WaitForPackedUsed()
    {
        RequirePackedRing();
        var a = A;
        var poll = a.CreateLabel();
        var completed = a.CreateLabel();
        if (_options.WaitForIntx)
            WaitForIntx();
        a.mov(edi, __dword_ptr[VarPackedFirst]);
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
        FailNow(VirtioGuestOutcome.DeviceFailed);
        // The id and length are read only after the flags; x86 does not reorder loads with loads.
        Place(ref completed);
    }

    private void RequirePackedRing()
    {
        if (!_options.PackedRing)
            throw new InvalidOperationException("a packed-ring helper on a driver that negotiates split rings");
    }
}
