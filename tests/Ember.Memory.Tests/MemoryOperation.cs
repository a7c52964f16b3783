namespace Ember.Memory.Tests;

/// <summary>One generated guest-memory access for the property tests.</summary>
public sealed record MemoryOperation(OperationKind Kind, ulong Address, ulong Length, byte Fill)
{
    /// <summary>Buffer-based calls take an int length; cap it so tests stay fast.</summary>
    public const int MaxBufferLength = 0x4000;

    public int BufferLength => (int)Math.Min(Length, MaxBufferLength);

    public override string ToString() => $"{Kind}(0x{Address:x}, 0x{Length:x}, fill 0x{Fill:x2})";
}
