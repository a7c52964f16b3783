namespace Ember.TestGuests.Virtio;

/// <summary>
/// Where the virtio-blk test guest keeps its own structures in guest physical memory, beside what the shared
/// driver keeps (<see cref="VirtioGuestLayout"/>: queue 0's rings, the common results, the driver's variables).
/// </summary>
public static class VirtioBlockGuestLayout
{
    /// <summary>The largest queue size the fixed ring pages hold.</summary>
    public const ushort MaxQueueSize = VirtioGuestLayout.MaxQueueSize;

    /// <summary>The most queues the guest sets up (a multi-queue disk's first few; each has its rings in <see cref="VirtioGuestLayout"/>).</summary>
    public const int MaxQueues = VirtioGuestLayout.MaxQueues;

    /// <summary>struct virtio_blk_req's 16-byte header (type, reserved, sector).</summary>
    public const uint RequestHeader = VirtioGuestLayout.DeviceArea;

    /// <summary>The request's status byte.</summary>
    public const uint RequestStatus = VirtioGuestLayout.DeviceArea + 0x100;

    /// <summary>The outcome byte (as written to the debug-exit port).</summary>
    public const uint ResultOutcome = VirtioGuestLayout.ResultOutcome;
    /// <summary>The slot of the virtio-blk function on bus 0.</summary>
    public const uint ResultSlot = VirtioGuestLayout.ResultSlot;
    /// <summary>The guest-physical address of the common configuration.</summary>
    public const uint ResultCommonConfiguration = VirtioGuestLayout.ResultCommonConfiguration;
    /// <summary>The guest-physical address the guest rang queue 0's doorbell at.</summary>
    public const uint ResultNotifyAddress = VirtioGuestLayout.ResultNotifyAddress;
    /// <summary>The step that was running (0-based) when the guest stopped.</summary>
    public const uint ResultStep = VirtioGuestLayout.DeviceResults + 0x00;
    /// <summary>The request within that step (0-based).</summary>
    public const uint ResultRequest = VirtioGuestLayout.DeviceResults + 0x04;
    /// <summary>The disk's capacity in sectors (qword), from the device configuration.</summary>
    public const uint ResultCapacity = VirtioGuestLayout.DeviceResults + 0x08;
    /// <summary>Each step's checksum (dword per step), from <see cref="ResultChecksums"/> on.</summary>
    public const uint ResultChecksums = VirtioGuestLayout.Results + 0x100;

    /// <summary>The guest's own variables (sector being read, counters).</summary>
    internal const uint Variables = VirtioGuestLayout.DeviceVariables;

    /// <summary>The one data buffer every request uses.</summary>
    public const uint DataBuffer = 0x40_0000;

    /// <summary>The data buffer's size: the largest request a step may make.</summary>
    public const uint DataBufferSize = 0x100_0000;

    /// <summary>RAM the guest needs: up to the end of the data buffer.</summary>
    public const ulong MinimumMemory = DataBuffer + (ulong)DataBufferSize;

    /// <summary>The most steps a program may have: COM1 lines name a step in two hex digits.</summary>
    public const int MaxSteps = 255;
}
