namespace Ember.TestGuests.Virtio;

/// <summary>
/// What the virtio-rng test guest asks for: <see cref="ByteCount"/> bytes in all, each request for at most
/// <see cref="RequestLength"/> of them (the device may give fewer; the guest then asks for the rest).
/// </summary>
public sealed record VirtioEntropyGuestProgram
{
    public required uint ByteCount { get; init; }

    /// <summary>The largest buffer one request offers the device.</summary>
    public uint RequestLength { get; init; } = 4096;

    /// <summary>Queue 0's size: a power of two up to <see cref="VirtioGuestLayout.MaxQueueSize"/>.</summary>
    public ushort QueueSize { get; init; } = 16;

    /// <summary>Which virtio-rng function on bus 0 to drive, counting from 0 in slot order.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>Null when the program can be assembled, else why not.</summary>
    public string? Problem()
    {
        if (ByteCount == 0 || ByteCount > VirtioEntropyGuestLayout.BufferSize)
            return $"the guest gathers 1 to {VirtioEntropyGuestLayout.BufferSize} bytes, not {ByteCount}";
        if (RequestLength == 0)
            return "a request asks for at least one byte";
        if (DeviceIndex is < 0 or > 31)
            return "the device index is 0 to 31";
        if (QueueSize == 0 || QueueSize > VirtioGuestLayout.MaxQueueSize || (QueueSize & (QueueSize - 1)) != 0)
            return $"the queue size must be a power of two up to {VirtioGuestLayout.MaxQueueSize}";
        return null;
    }
}
