using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// A test-harness exit port with the semantics of QEMU's isa-debug-exit: the guest writes a
/// value v at offset 0 and the VMM exits with status (v &lt;&lt; 1) | 1, so a guest can never fake
/// a clean exit 0.
/// <para>
/// Widths: 1-, 2- and 4-byte writes at offset 0 are accepted (register the device over 1 byte
/// for byte writes only, or over <see cref="MaxAccessWidth"/> bytes to accept outw/outl, like
/// QEMU's iosize). The written little-endian integer is truncated to its low byte: a process
/// exit status keeps only 8 bits, and (v &lt;&lt; 1) | 1 depends on nothing above bit 6 of v.
/// Reads return zero; writes at other offsets are dropped and counted.
/// </para>
/// Threat model: no state; the guest can end the VM, which is the device's purpose and must
/// only be wired in test configurations.
/// </summary>
public sealed class DebugExitDevice : IBusDevice
{
    /// <summary>The widest write accepted at offset 0.</summary>
    public const int MaxAccessWidth = 4;

    private long _unhandledAccesses;

    /// <summary>Raised on the vCPU thread with the written value (low byte).</summary>
    public event Action<byte>? ExitRequested;

    /// <summary>Writes at other offsets or with other widths.</summary>
    public long UnhandledAccesses => Interlocked.Read(ref _unhandledAccesses);

    /// <summary>The process exit status for a written value: (v &lt;&lt; 1) | 1. The host OS keeps its low 8 bits.</summary>
    public static int ExitCodeFor(byte value) => (value << 1) | 1;

    public void Read(ulong offset, Span<byte> data)
    {
        // Nothing to read; the bus already cleared data.
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (offset != 0 || data.Length is not (1 or 2 or 4))
        {
            Interlocked.Increment(ref _unhandledAccesses);
            return;
        }
        // Little-endian: the first byte is the low byte of the written integer.
        ExitRequested?.Invoke(data[0]);
    }
}
