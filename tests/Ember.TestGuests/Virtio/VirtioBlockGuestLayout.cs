namespace Ember.TestGuests.Virtio;

/// <summary>
/// Where the virtio-blk test guest keeps its structures in guest physical memory: above the multiboot image
/// (at 1 MiB, well under 1 MiB long), page-aligned so every split-ring part meets its alignment (virtio 1.2
/// §2.7: descriptors 16, available ring 2, used ring 4) for any queue size up to <see cref="MaxQueueSize"/>.
/// </summary>
public static class VirtioBlockGuestLayout
{
    /// <summary>The stack (multiboot leaves ESP undefined), growing down from here.</summary>
    public const uint StackTop = 0x8_0000;

    /// <summary>The largest queue size the fixed ring pages hold (16 × 256 bytes of descriptors in one page).</summary>
    public const ushort MaxQueueSize = 256;

    public const uint DescriptorTable = 0x20_0000;
    public const uint AvailableRing = 0x20_1000;
    public const uint UsedRing = 0x20_2000;

    /// <summary>The most queues the guest sets up (a multi-queue disk's first few).</summary>
    public const int MaxQueues = 4;

    /// <summary>Queue q's three ring pages lie q × this above queue 0's, clear of the header, results and variables.</summary>
    public const uint QueueStride = 0x1_0000;

    /// <summary>Queue <paramref name="queue"/>'s descriptor table (its available and used rings follow a page apart).</summary>
    public static uint DescriptorTableOf(int queue) => DescriptorTable + ((uint)queue * QueueStride);

    public static uint AvailableRingOf(int queue) => AvailableRing + ((uint)queue * QueueStride);

    public static uint UsedRingOf(int queue) => UsedRing + ((uint)queue * QueueStride);

    /// <summary>struct virtio_blk_req's 16-byte header (type, reserved, sector).</summary>
    public const uint RequestHeader = 0x20_3000;

    /// <summary>The request's status byte.</summary>
    public const uint RequestStatus = 0x20_3100;

    /// <summary>
    /// What the guest found and did, for a host that can read guest memory after the run (dwords): see the
    /// <c>Result*</c> offsets. COM1 carries the same.
    /// </summary>
    public const uint Results = 0x20_4000;

    /// <summary>The outcome byte (as written to the debug-exit port).</summary>
    public const uint ResultOutcome = Results + 0x00;
    /// <summary>The step that was running (0-based) when the guest stopped.</summary>
    public const uint ResultStep = Results + 0x04;
    /// <summary>The request within that step (0-based).</summary>
    public const uint ResultRequest = Results + 0x08;
    /// <summary>The slot of the virtio-blk function on bus 0.</summary>
    public const uint ResultSlot = Results + 0x0C;
    /// <summary>The guest-physical address of the common configuration.</summary>
    public const uint ResultCommonConfiguration = Results + 0x10;
    /// <summary>The guest-physical address the guest rang queue 0's doorbell at.</summary>
    public const uint ResultNotifyAddress = Results + 0x14;
    /// <summary>The disk's capacity in sectors (qword), from the device configuration.</summary>
    public const uint ResultCapacity = Results + 0x18;
    /// <summary>Each step's checksum (dword per step), from <see cref="ResultChecksums"/> on.</summary>
    public const uint ResultChecksums = Results + 0x100;

    /// <summary>The guest's variables (sector being read, counters, addresses found).</summary>
    internal const uint Variables = 0x20_5000;

    /// <summary>The one data buffer every request uses.</summary>
    public const uint DataBuffer = 0x40_0000;

    /// <summary>The data buffer's size: the largest request a step may make.</summary>
    public const uint DataBufferSize = 0x100_0000;

    /// <summary>RAM the guest needs: up to the end of the data buffer.</summary>
    public const ulong MinimumMemory = DataBuffer + (ulong)DataBufferSize;

    /// <summary>The most steps a program may have: COM1 lines name a step in two hex digits.</summary>
    public const int MaxSteps = 255;
}
