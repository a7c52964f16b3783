namespace Ember.Devices.Bus;

/// <summary>
/// A device as the PIO or MMIO bus sees it. Offsets are relative to the base the device was
/// registered at, so a device never knows its port number or MMIO address.
/// Guest accesses never throw: an unknown offset or unsupported width reads as zero
/// (the caller clears the read buffer first) and a write to it is dropped.
/// </summary>
public interface IBusDevice
{
    void Read(ulong offset, Span<byte> data);
    void Write(ulong offset, ReadOnlySpan<byte> data);
}
