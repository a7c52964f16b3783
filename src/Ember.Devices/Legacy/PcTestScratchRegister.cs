using System.Buffers.Binary;
using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// The 32-bit scratch register of QEMU's pc-testdev (port 0xE0 in kvm-unit-tests): four bytes
/// that read back whatever was written, with byte lanes, so an 8-bit write at offset 2 changes
/// only byte 2 and a 16-bit read at offset 1 returns bytes 1–2. Accesses that do not fit in the
/// four bytes are dropped (reads stay zero) and counted.
/// Threat model: four bytes of state; nothing the guest writes is interpreted.
/// </summary>
public sealed class PcTestScratchRegister : IBusDevice
{
    public const ulong Length = 4;

    private readonly Lock _lock = new();
    private readonly byte[] _bytes = new byte[Length];
    private long _unhandledAccesses;

    /// <summary>Accesses that do not fit inside the four bytes.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>The register as a little-endian integer.</summary>
    public uint Value
    {
        get { lock (_lock) return BinaryPrimitives.ReadUInt32LittleEndian(_bytes); }
    }

    public void Read(ulong offset, Span<byte> data)
    {
        if (!Fits(offset, data.Length))
            return;
        lock (_lock)
            _bytes.AsSpan((int)offset, data.Length).CopyTo(data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!Fits(offset, data.Length))
            return;
        lock (_lock)
            data.CopyTo(_bytes.AsSpan((int)offset));
    }

    private bool Fits(ulong offset, int size)
    {
        if (size > 0 && offset < Length && (ulong)size <= Length - offset)
            return true;
        Interlocked.Increment(ref _unhandledAccesses);
        return false;
    }

    public PcTestScratchRegisterState GetState() => new(Value);

    public static PcTestScratchRegister FromState(PcTestScratchRegisterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var register = new PcTestScratchRegister();
        BinaryPrimitives.WriteUInt32LittleEndian(register._bytes, state.Value);
        return register;
    }
}
