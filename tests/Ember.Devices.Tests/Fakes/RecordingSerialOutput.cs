using Ember.Devices.Legacy;

namespace Ember.Devices.Tests.Fakes;

/// <summary>Collects everything a UART transmits.</summary>
public sealed class RecordingSerialOutput : ISerialOutput
{
    private readonly Lock _lock = new();
    private readonly List<byte> _bytes = [];

    public byte[] Bytes
    {
        get { lock (_lock) return [.. _bytes]; }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
            _bytes.AddRange(data);
    }
}
