namespace Ember.Devices.Virtio.Entropy;

/// <summary>Where virtio-rng's bytes come from. Called under the device lock from the notifying thread.</summary>
public interface IEntropySource
{
    /// <summary>Fills all of <paramref name="destination"/> with random bytes.</summary>
    void Fill(Span<byte> destination);
}
