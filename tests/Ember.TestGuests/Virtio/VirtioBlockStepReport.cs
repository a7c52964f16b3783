namespace Ember.TestGuests.Virtio;

/// <summary>One "step" line of the virtio-blk test guest: a step whose every request ended with its expected status.</summary>
/// <param name="Checksum">For a read step with a checksum: <see cref="VirtioBlockChecksum"/> over everything it read.</param>
/// <param name="Id">For GET_ID: the serial as the device answered it.</param>
public sealed record VirtioBlockStepReport(int Index, uint? Checksum, string? Id);
