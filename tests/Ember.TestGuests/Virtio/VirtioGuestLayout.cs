namespace Ember.TestGuests.Virtio;

/// <summary>
/// Where every virtio test guest (<see cref="VirtioBlockGuest"/>, <see cref="VirtioEntropyGuest"/>,
/// <see cref="VirtioVsockGuest"/>) keeps what their shared PCI driver uses, above the multiboot image (at 1 MiB,
/// well under 1 MiB long): each queue's split ring in three pages of its own, so every part meets its alignment
/// (virtio 1.2 §2.7: descriptors 16, available ring 2, used ring 4) for any queue size up to <see cref="MaxQueueSize"/>
/// (a packed queue, §2.8, keeps its descriptor ring and the driver and device event suppression structures in the same pages),
/// then the results the host reads back and the driver's variables. From <see cref="DeviceArea"/> on, each guest
/// lays out its own buffers.
/// </summary>
public static class VirtioGuestLayout
{
    /// <summary>The stack (multiboot leaves ESP undefined), growing down from here.</summary>
    public const uint StackTop = 0x8_0000;

    /// <summary>The largest queue size the fixed ring pages hold (16 × 256 bytes of descriptors in one page).</summary>
    public const ushort MaxQueueSize = 256;

    /// <summary>The most queues a guest sets up (a multi-queue disk's first four are the most any needs).</summary>
    public const int MaxQueues = 4;

    /// <summary>Queue <paramref name="queue"/>'s descriptor table; its available and used rings follow a page and two pages on.</summary>
    public static uint DescriptorTable(int queue) => RingsBase + (uint)queue * RingStride;

    public static uint AvailableRing(int queue) => DescriptorTable(queue) + 0x1000;

    public static uint UsedRing(int queue) => DescriptorTable(queue) + 0x2000;

    private const uint RingsBase = 0x20_0000;
    private const uint RingStride = 0x1_0000;

    /// <summary>
    /// What the guest found and did, for a host that can read guest memory after the run (dwords): the outcome,
    /// the function's slot, its common configuration and queue 0's doorbell; each guest adds its own from
    /// <see cref="DeviceResults"/> on. COM1 carries the same.
    /// </summary>
    public const uint Results = 0x24_0000;

    /// <summary>The outcome byte (as written to the debug-exit port).</summary>
    public const uint ResultOutcome = Results + 0x00;
    /// <summary>The slot of the function on bus 0.</summary>
    public const uint ResultSlot = Results + 0x0C;
    /// <summary>The guest-physical address of the common configuration.</summary>
    public const uint ResultCommonConfiguration = Results + 0x10;
    /// <summary>The guest-physical address the guest rings queue 0's doorbell at.</summary>
    public const uint ResultNotifyAddress = Results + 0x14;
    /// <summary>Where a guest's own results start.</summary>
    public const uint DeviceResults = Results + 0x18;

    /// <summary>The shared driver's variables (the function, its structures, its BARs, each queue's doorbell).</summary>
    internal const uint Variables = 0x24_1000;

    /// <summary>With INTx waits: a dword counting the interrupts seen asserted in the 8259A's IRR and then dropped by an ISR read.</summary>
    public const uint IntxSeen = Variables + 0xAC;

    /// <summary>A guest's own variables.</summary>
    internal const uint DeviceVariables = Variables + 0x100;

    /// <summary>The end of what the driver zeroes at start: rings, results and variables.</summary>
    internal const uint ZeroedEnd = Variables + 0x1000;

    /// <summary>From here on each guest places its own buffers.</summary>
    public const uint DeviceArea = 0x25_0000;
}
