using Ember.Devices.Bus;
using Ember.Devices.Interrupts;

namespace Ember.Devices.Legacy;

/// <summary>
/// pc-testdev's interrupt-line port block (ports 0x2000–0x2017 in kvm-unit-tests): a one-byte
/// write of v at offset n drives ISA IRQ line n low (v = 0) or high (v ≠ 0), so a test guest
/// can raise any IOAPIC/PIC input on demand. Reads return zero.
/// Threat model: no state; the offset indexes a fixed list after a bounds check, other widths
/// and offsets past the supplied lines are dropped and counted. Only wire in test machines: a
/// guest can assert any ISA line, including ones owned by other devices.
/// </summary>
public sealed class IsaIrqLineDevice : IBusDevice
{
    /// <summary>ISA IRQ lines reachable through the block (IOAPIC pins 0–23).</summary>
    public const int LineCount = 24;

    /// <summary>Register the device over this many bytes.</summary>
    public const ulong Length = LineCount;

    private readonly IReadOnlyList<IInterruptLine> _lines;
    private long _unhandledAccesses;

    /// <param name="lines">Line n is driven by offset n; at most <see cref="LineCount"/> lines, fewer leave the rest unwired.</param>
    public IsaIrqLineDevice(IReadOnlyList<IInterruptLine> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Count > LineCount)
            throw new ArgumentException($"{lines.Count} lines supplied, at most {LineCount} are addressable", nameof(lines));
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i] is null)
                throw new ArgumentException($"line {i} is null", nameof(lines));
        }
        _lines = [.. lines];
    }

    /// <summary>Reads, writes wider than one byte, and writes to unwired offsets.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    public void Read(ulong offset, Span<byte> data) => Interlocked.Increment(ref _unhandledAccesses);

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || offset >= (ulong)_lines.Count)
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        _lines[(int)offset].SetLevel(data[0] != 0);
    }
}
