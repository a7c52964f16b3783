namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-blk test guest does once it has brought the device up: <see cref="Steps"/>, in order,
/// one request in flight at a time.
/// </summary>
public sealed record VirtioBlockGuestProgram
{
    /// <summary>The requests to make.</summary>
    public required IReadOnlyList<VirtioBlockStep> Steps { get; init; }

    /// <summary>Which virtio-blk function on bus 0 to drive, counting from 0 in slot order.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>Every queue's size: up to <see cref="VirtioBlockGuestLayout.MaxQueueSize"/>, a power of two unless <see cref="PackedRing"/>.</summary>
    public ushort QueueSize { get; init; } = 16;

    /// <summary>
    /// Negotiate VIRTIO_F_RING_PACKED and drive every queue as a packed ring (virtio 1.2 §2.8): the descriptor ring in the
    /// descriptor page, driver event suppression (DISABLE: this driver polls) in the available-ring page, device event
    /// suppression in the used-ring page.
    /// </summary>
    public bool PackedRing { get; init; }

    /// <summary>How many queues the guest sets up, 0 to QueueCount - 1 (more than one needs VIRTIO_BLK_F_MQ in <see cref="DriverFeatures"/>).</summary>
    public int QueueCount { get; init; } = 1;

    /// <summary>
    /// Device feature bits 0–31 the driver accepts besides VERSION_1 (e.g. 1 &lt;&lt; 13 for DISCARD); the guest stops with
    /// <see cref="VirtioGuestOutcome.FeatureMissing"/> when the device does not offer them all.
    /// </summary>
    public uint DriverFeatures { get; init; }

    /// <summary>
    /// Bytes per doorbell write: 2, the 16-bit queue index a virtio-pci driver writes (§4.1.5.2), or 4, the same index
    /// as a dword, which a doorbell that matches only 16-bit writes lets exit to the VMM.
    /// </summary>
    public int NotifyWidth { get; init; } = 2;

    /// <summary>
    /// Where BARs get addresses when the guest assigns them (sized, naturally aligned, one after another). A BAR
    /// left at 0 is assigned here; null makes such a BAR a failure (<see cref="VirtioGuestOutcome.BarUnassigned"/>).
    /// </summary>
    public uint? BarAssignmentBase { get; init; }

    /// <summary>
    /// Move every BAR the virtio capabilities use to <see cref="BarAssignmentBase"/>, as an OS that reassigns
    /// firmware's placement does (memory decoding off while they move).
    /// </summary>
    public bool ReassignBars { get; init; }

    /// <summary>
    /// Write queue 0's notify address once after the queue is set up but before DRIVER_OK: no doorbell
    /// is attached yet, so the write exits to the VMM, which must count it and ignore it.
    /// </summary>
    public bool NotifyBeforeDriverOk { get; init; }

    /// <summary>
    /// After every doorbell, wait for the function's INTx in the 8259A's IRR, read ISR and check that the line dropped
    /// (<see cref="VirtioPciDriverOptions.WaitForIntx"/>): MSI-X stays off and used-buffer interrupts are asked for.
    /// </summary>
    public bool WaitForIntx { get; init; }

    /// <summary>
    /// An MMIO byte that gets the value 123 right before the first request: Firecracker's boot timer (Ember's
    /// <c>Layout.BootTimer</c>), so the host can time the request phase alone. Null for none.
    /// </summary>
    public uint? RequestPhaseMarker { get; init; }

    /// <summary>
    /// Write <see cref="RequestPhaseMarker"/> right before each step's first request and right after its last one (before
    /// the step's line on COM1) instead of once before the first request: 2 × steps marks, so a host can time and count
    /// each step's requests alone (bench/Ember.Bench.GuestVirtio). Each mark is one MMIO exit.
    /// </summary>
    public bool MarkEachStep { get; init; }

    /// <summary>
    /// Before this step (0-based) the guest prints "hold" on COM1 and polls COM1's line status until a byte arrives
    /// (the host's go-ahead; Ember's stdin with --console stdio), then reads it and goes on. Null for no hold. Lets a host
    /// act at a point where the guest has provably not yet made the step's requests.
    /// </summary>
    public int? HoldBeforeStep { get; init; }

    /// <summary>
    /// After the last step print "parked" and halt forever with interrupts off instead of printing "done" and leaving
    /// through debug-exit: the host ends the VM itself (a test that kills Ember at one of the guest's lines).
    /// </summary>
    public bool ParkWhenDone { get; init; }

    /// <summary>Null when the program can be assembled, else why not.</summary>
    public string? Problem()
    {
        if (Steps is null || Steps.Count == 0)
            return "the program has no steps";
        if (Steps.Count > VirtioBlockGuestLayout.MaxSteps)
            return $"at most {VirtioBlockGuestLayout.MaxSteps} steps";
        if (DeviceIndex is < 0 or > 31)
            return "the device index is 0 to 31";
        if (QueueSize == 0 || QueueSize > VirtioBlockGuestLayout.MaxQueueSize || (!PackedRing && (QueueSize & (QueueSize - 1)) != 0))
            return $"the queue size must be a power of two up to {VirtioBlockGuestLayout.MaxQueueSize} (any size for a packed ring)";
        if (MarkEachStep && RequestPhaseMarker is null)
            return "marking each step needs a RequestPhaseMarker";
        if (ReassignBars && BarAssignmentBase is null)
            return "reassigning BARs needs a BarAssignmentBase";
        if (QueueCount is < 1 or > VirtioBlockGuestLayout.MaxQueues)
            return $"the guest sets up 1 to {VirtioBlockGuestLayout.MaxQueues} queues";
        if (NotifyWidth is not (2 or 4))
            return "a doorbell write is 2 or 4 bytes";
        if (HoldBeforeStep is { } hold && (hold < 0 || hold >= Steps.Count))
            return $"the hold is before one of the {Steps.Count} steps";
        for (int i = 0; i < Steps.Count; i++)
        {
            if (Steps[i].Problem(VirtioBlockGuestLayout.DataBufferSize) is { } problem)
                return $"step {i}: {problem}";
            if (Steps[i].Queue >= QueueCount)
                return $"step {i}: queue {Steps[i].Queue} is not set up (QueueCount {QueueCount})";
        }
        return null;
    }
}
