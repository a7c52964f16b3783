using System.Security.Cryptography;

namespace Ember.Devices.Virtio.Entropy;

/// <summary>The host's cryptographic random number generator (getrandom on Linux), never blocking once the host has booted.</summary>
public sealed class SystemEntropySource : IEntropySource
{
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
