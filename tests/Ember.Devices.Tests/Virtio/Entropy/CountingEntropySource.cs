using Ember.Devices.Virtio.Entropy;

namespace Ember.Devices.Tests.Virtio.Entropy;

/// <summary>Bytes 1, 2, 3, ... (never 0) so tests can see exactly which bytes came from the source, and how many were asked for.</summary>
public sealed class CountingEntropySource : IEntropySource
{
    private byte _next;

    public List<int> Requests { get; } = [];

    public void Fill(Span<byte> destination)
    {
        Requests.Add(destination.Length);
        for (int i = 0; i < destination.Length; i++)
        {
            _next = (byte)(_next == 255 ? 1 : _next + 1);
            destination[i] = _next;
        }
    }
}
