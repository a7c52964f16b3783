using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>The MSI-X Pending Bit Array of a <see cref="MsixController"/> as the bus sees it, at offset 0 of its range.</summary>
internal sealed class MsixPbaRegion(MsixController controller) : IBusDevice
{
    public void Read(ulong offset, Span<byte> data) => controller.ReadPba(offset, data);

    public void Write(ulong offset, ReadOnlySpan<byte> data) => controller.WritePba(offset, data);
}
