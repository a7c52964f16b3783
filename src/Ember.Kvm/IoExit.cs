namespace Ember.Kvm;

/// <summary>
/// A port I/O exit. <see cref="Data"/> holds Size × Count bytes inside the kvm_run page: for OUT the
/// bytes the guest wrote, for IN the buffer Ember fills before the next Run (string I/O has Count &gt; 1).
/// </summary>
public readonly ref struct IoExit(ushort port, int size, IoDirection direction, uint count, Span<byte> data)
{
    public ushort Port { get; } = port;
    public int Size { get; } = size;
    public IoDirection Direction { get; } = direction;
    public uint Count { get; } = count;
    public Span<byte> Data { get; } = data;
}
