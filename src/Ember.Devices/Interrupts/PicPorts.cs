using Ember.Devices.Bus;

namespace Ember.Devices.Interrupts;

/// <summary>
/// The two I/O ports of one chip of a <see cref="DualPic"/>: offset 0 is the command port (A0 = 0),
/// offset 1 the data port (A0 = 1). The VMM registers the master's at 0x20 and the slave's at 0xA0.
/// </summary>
internal sealed class PicPorts(DualPic pic, bool master) : IBusDevice
{
    public void Read(ulong offset, Span<byte> data) => pic.ReadPort(master, offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data) => pic.WritePort(master, offset, data);
}
