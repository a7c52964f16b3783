namespace Ember.TestGuests.Virtio;

/// <summary>What the virtio-vsock test guest does once its device is up: <see cref="Steps"/>, one connection at a time, in order.</summary>
public sealed record VirtioVsockGuestProgram
{
    public required IReadOnlyList<VirtioVsockGuestStep> Steps { get; init; }

    /// <summary>Each queue's size: a power of two from the receive buffer count up to <see cref="VirtioGuestLayout.MaxQueueSize"/>.</summary>
    public ushort QueueSize { get; init; } = 16;

    /// <summary>Which virtio-vsock function on bus 0 to drive, counting from 0 in slot order.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>Null when the program can be assembled, else why not.</summary>
    public string? Problem()
    {
        if (Steps is null || Steps.Count == 0)
            return "the program has no steps";
        if (Steps.Count > VirtioVsockGuestLayout.MaxSteps)
            return $"at most {VirtioVsockGuestLayout.MaxSteps} steps";
        if (DeviceIndex is < 0 or > 31)
            return "the device index is 0 to 31";
        if (QueueSize < VirtioVsockGuestLayout.ReceiveBufferCount || QueueSize > VirtioGuestLayout.MaxQueueSize || (QueueSize & (QueueSize - 1)) != 0)
            return $"the queue size must be a power of two from {VirtioVsockGuestLayout.ReceiveBufferCount} to {VirtioGuestLayout.MaxQueueSize}";
        for (int i = 0; i < Steps.Count; i++)
        {
            if (Steps[i].Problem() is { } problem)
                return $"step {i}: {problem}";
        }
        return null;
    }
}
