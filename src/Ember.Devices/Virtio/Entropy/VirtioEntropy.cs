using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Entropy;

/// <summary>
/// virtio-rng (virtio 1.2 §5.4, device ID 4): one request queue; every chain's device-writable buffers are
/// filled with random bytes and the used length says how many. No feature bits, no configuration.
/// Threat model: the guest chooses how many bytes it asks for; each request gets at most
/// <see cref="MaxBytesPerRequest"/> (from one reused buffer), so a chain of 4 GiB costs the host no more than
/// a small one. Device-readable buffers carry nothing for this device and are ignored.
/// Every request passes the device's <see cref="Limiter"/> (Firecracker's EntropyDevice rate_limiter): one op, and
/// as bandwidth the bytes it will be given, so a guest cannot drain the host's entropy faster than configured.
/// </summary>
public sealed class VirtioEntropy : VirtioQueueDevice
{
    /// <summary>The most random bytes one request gets; the driver asks again for more.</summary>
    public const int MaxBytesPerRequest = 64 * 1024;

    public const ushort DefaultQueueSize = 256;

    private readonly IEntropySource _source;
    private readonly byte[] _buffer = new byte[MaxBytesPerRequest];
    private readonly RateLimiter _limiter;

    /// <param name="limiter">Meters the request queue; none (the default) is a limiter with no buckets.</param>
    public VirtioEntropy(IEntropySource? source = null, ushort maxQueueSize = DefaultQueueSize, RateLimiter? limiter = null)
        : base(VirtioDeviceType.Entropy, deviceFeatures: 0, queueCount: 1, maxQueueSize)
    {
        _source = source ?? new SystemEntropySource();
        _limiter = limiter ?? new RateLimiter();
    }

    /// <summary>The request queue's rate limiter.</summary>
    public RateLimiter Limiter => _limiter;

    protected override RateLimiter LimiterFor(int queue) => _limiter;

    /// <summary>The bytes the request will be given: its writable length, at most <see cref="MaxBytesPerRequest"/>.</summary>
    protected override ulong ChargedBytes(int queue, DescriptorChain chain) => Math.Min(chain.WritableLength, (uint)MaxBytesPerRequest);

    public override int ConfigurationLength => 0;

    public override void ReadConfiguration(int offset, Span<byte> data) => data.Clear();

    public override void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
    }

    protected override uint ProcessChain(int queue, DescriptorChain chain, IGuestMemory memory)
    {
        var writer = new DescriptorChainWriter(chain, memory, MaxBytesPerRequest);
        if (writer.Capacity == 0)
        {
            CountDropped();
            return 0;
        }
        var bytes = _buffer.AsSpan(0, (int)writer.Capacity);
        _source.Fill(bytes);
        writer.Write(bytes);
        // Random bytes of one request never linger for the next one.
        bytes.Clear();
        return writer.BytesWritten;
    }
}
