using Ember.Devices.Bus;

namespace Ember.Devices.Virtio.Transport;

/// <summary>A part of a BAR whose accesses go to two methods of the device that owns it.</summary>
internal sealed class BarPart(Action<ulong, Span<byte>> read, Action<ulong, ReadOnlySpan<byte>> write) : IBusDevice
{
    public void Read(ulong offset, Span<byte> data) => read(offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data) => write(offset, data);
}
