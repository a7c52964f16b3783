namespace Ember.TestGuests.Virtio;

/// <summary>
/// The byte a virtio test guest writes to the debug-exit port: <see cref="Success"/>, or the step of the shared
/// driver's bring-up (0x1x) or of the device's own work (0x2x block and entropy, 0x4x vsock, 0x5x net) that failed. COM1
/// carries the details (a "FAIL" line).
/// </summary>
public enum VirtioGuestOutcome : byte
{
    Success = 0x01,
    /// <summary>No function of the device's ID (1AF4:1040 + type) at the requested index on bus 0.</summary>
    NoDevice = 0x10,
    /// <summary>Status bit 4 clear: the function has no capability list.</summary>
    NoCapabilityList = 0x11,
    /// <summary>The capability list did not end within 48 entries.</summary>
    CapabilityLoop = 0x12,
    MissingCommonConfiguration = 0x13,
    MissingNotifyConfiguration = 0x14,
    MissingDeviceConfiguration = 0x15,
    /// <summary>A capability names an I/O BAR, a BAR index over 5, or an upper half of a 64-bit BAR.</summary>
    UnusableBar = 0x16,
    /// <summary>A 64-bit BAR placed above 4 GiB, out of a 32-bit guest's reach.</summary>
    BarAbove4GiB = 0x17,
    /// <summary>A BAR was left at 0 and the program gave no address to assign.</summary>
    BarUnassigned = 0x18,
    /// <summary>device_status did not read 0 after the reset.</summary>
    ResetFailed = 0x19,
    /// <summary>The device does not offer VIRTIO_F_VERSION_1 (feature bit 32).</summary>
    NoVersion1 = 0x1A,
    /// <summary>FEATURES_OK did not stick.</summary>
    FeaturesRejected = 0x1B,
    /// <summary>A queue the driver needs is missing or its maximum size is below the program's queue size.</summary>
    QueueTooSmall = 0x1C,
    /// <summary>DRIVER_OK did not stick, or the device set DEVICE_NEEDS_RESET.</summary>
    DeviceFailed = 0x1D,
    /// <summary>The device does not offer every feature the driver asks for besides VERSION_1 (a program's DriverFeatures).</summary>
    FeatureMissing = 0x1E,

    /// <summary>With INTx waits: the function's Interrupt Line is not an 8259A IRQ (0–15), or it has no ISR capability.</summary>
    NoIntx = 0x1F,

    /// <summary>With INTx waits: the IRQ was asserted before any request, with ISR bit 0 clear when it was, or still after the ISR read.</summary>
    IntxStuck = 0x23,
    /// <summary>A used element named a descriptor other than the request's head.</summary>
    WrongUsedId = 0x20,
    /// <summary>
    /// A used element's length was not what the device should have written: for a block request its data and status
    /// byte; for an entropy request nothing at all, or more than the buffer holds.
    /// </summary>
    WrongUsedLength = 0x21,
    /// <summary>A request's status byte was not the step's expected status.</summary>
    WrongStatus = 0x22,
    /// <summary>The device reset the vsock connection where the guest waited for an answer or payload.</summary>
    VsockReset = 0x40,
    /// <summary>A vsock packet with the wrong CIDs, ports, type or op for what the guest waited for.</summary>
    VsockUnexpectedPacket = 0x41,
    /// <summary>A vsock packet whose header says more payload than its receive buffer holds, or less than a header arrived.</summary>
    VsockBadLength = 0x42,
    /// <summary>The ICMP echo reply matched the request's addresses, identifier and sequence, but not its payload.</summary>
    NetWrongReply = 0x50,
}
