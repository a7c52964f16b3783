using Ember.Devices.Bus;

namespace Ember.Devices.Interrupts;

/// <summary>
/// The edge/level control registers of a PIIX-style south bridge (ports 0x4D0 and 0x4D1, here offsets 0
/// and 1): one bit per ISA IRQ, set for level-triggered. It belongs to a <see cref="DualPic"/>.
/// <para>
/// Threat model: the guest may write any byte; reserved bits (IRQ0, 1, 2, 8, 13, which the chipset wires
/// as edge) stay zero, and other offsets or widths are dropped and counted by the owning <see cref="DualPic"/>.
/// </para>
/// </summary>
public sealed class Elcr : IBusDevice
{
    /// <summary>The register pair's length on the I/O bus.</summary>
    public const ulong Size = 2;

    private readonly DualPic _pic;

    internal Elcr(DualPic pic) => _pic = pic;

    public void Read(ulong offset, Span<byte> data) => _pic.ReadElcr(offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data) => _pic.WriteElcr(offset, data);
}
