namespace Ember.TestGuests.Virtio;

/// <summary>Which function the shared guest driver (<see cref="VirtioPciDriverEmitter"/>) drives, and how it treats its BARs.</summary>
/// <param name="DeviceType">The virtio device type (2 block, 4 entropy, 19 socket): the function's ID is 1AF4:1040 + type.</param>
/// <param name="DeviceIndex">Which function of that ID on bus 0, counting from 0 in slot order.</param>
/// <param name="BarAssignmentBase">Where a BAR left at 0 (or every BAR, with <paramref name="ReassignBars"/>) is placed; null makes such a BAR a failure.</param>
/// <param name="ReassignBars">Move every BAR the capabilities use to <paramref name="BarAssignmentBase"/>, as an OS that reassigns firmware's placement does.</param>
/// <param name="DriverFeatures">
/// Device feature bits 0–31 the driver accepts besides VERSION_1 (a device's own, such as VIRTIO_BLK_F_MQ); the guest stops with
/// <see cref="VirtioGuestOutcome.FeatureMissing"/> when the device does not offer them all.
/// </param>
/// <param name="NotifyWidth">
/// Bytes per doorbell write: 2, the 16-bit queue index a virtio-pci driver writes (§4.1.5.2), or 4, the same index as a
/// dword, which a doorbell that matches only 16-bit writes lets exit to the VMM.
/// </param>
/// <param name="WaitForIntx">
/// Leave MSI-X off and ask for used-buffer interrupts, and after every doorbell wait for the function's INTx (the IRQ in its
/// Interrupt Line register) to show in the 8259A's IRR (OCW3 read, the IRQ level-triggered through the ELCR and masked, so no
/// interrupt is ever taken), then read ISR and check that the IRR bit dropped: the line was asserted by the used buffer and
/// deasserted by the ISR read, through whichever irqchip the machine has.
/// </param>
/// <param name="PackedRing">
/// Negotiate VIRTIO_F_RING_PACKED (feature bit 34; the guest stops with <see cref="VirtioGuestOutcome.FeatureMissing"/> when
/// the device does not offer it) and set every queue up as a packed ring (virtio 1.2 §2.8), driven through the driver's
/// packed-ring helpers; the split-ring ones refuse to emit then.
/// </param>
internal readonly record struct VirtioPciDriverOptions(
    ushort DeviceType,
    int DeviceIndex = 0,
    uint? BarAssignmentBase = null,
    bool ReassignBars = false,
    uint DriverFeatures = 0,
    int NotifyWidth = 2,
    bool WaitForIntx = false,
    bool PackedRing = false);
