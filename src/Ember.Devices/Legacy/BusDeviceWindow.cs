using Ember.Devices.Bus;

namespace Ember.Devices.Legacy;

/// <summary>
/// A view of part of another device's register range, so a device whose ports are not
/// contiguous can be registered as separate small ranges. Accesses outside the window are
/// dropped (reads stay zero).
/// </summary>
internal sealed class BusDeviceWindow(IBusDevice inner, ulong innerOffset, ulong length) : IBusDevice
{
    public void Read(ulong offset, Span<byte> data)
    {
        if (Fits(offset, data.Length))
            inner.Read(innerOffset + offset, data);
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        if (Fits(offset, data.Length))
            inner.Write(innerOffset + offset, data);
    }

    private bool Fits(ulong offset, int size) => offset < length && (ulong)size <= length - offset;
}
