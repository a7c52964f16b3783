using System.Buffers.Binary;
using Ember.Devices.Pci;

namespace Ember.Devices.Virtio.Transport;

/// <summary>
/// VIRTIO_PCI_CAP_PCI_CFG (virtio 1.2 §4.1.4.9): a window in configuration space through which a driver
/// reaches the BAR structures without mapping the BAR. The driver writes bar, offset and length (1, 2 or 4),
/// then reads or writes pci_cfg_data, which the device turns into the same access at that BAR offset.
/// Threat model: an access with another BAR, an unaligned offset or an odd length is ignored (reads zero).
/// </summary>
internal sealed class VirtioPciConfigurationAccess(VirtioPciFunction function) : IPciConfigHandler
{
    // Offsets within the capability, from its ID byte.
    private const int BarField = 4;
    private const int OffsetField = 8;
    private const int LengthField = 12;
    private const int DataField = 16;
    private const int CapabilityLength = 20;

    private int _capability = -1;

    public void AddTo(PciConfigSpace space)
    {
        Span<byte> body = stackalloc byte[CapabilityLength - PciCapabilityList.HeaderLength];
        body.Clear();
        body[0] = CapabilityLength;
        body[1] = (byte)VirtioPciCapabilityType.PciConfigurationAccess;
        Span<byte> writable = stackalloc byte[body.Length];
        writable.Clear();
        writable[BarField - PciCapabilityList.HeaderLength] = 0xFF;
        writable[(OffsetField - PciCapabilityList.HeaderLength)..(DataField + 4 - PciCapabilityList.HeaderLength)].Fill(0xFF);
        _capability = space.Capabilities.Add(PciCapabilityId.VendorSpecific, body, writable, this);
    }

    public void BeforeGuestRead(PciConfigSpace space, int offset, int length)
    {
        if (!Overlaps(offset, length) || !TryTarget(space, out ulong barOffset, out int width))
            return;
        Span<byte> data = stackalloc byte[4];
        data.Clear();
        function.AccessBar(barOffset, data[..width], write: false);
        for (int i = 0; i < 4; i++)
            space.SetByte(_capability + DataField + i, data[i]);
    }

    public void AfterGuestWrite(PciConfigSpace space, int offset, int length)
    {
        if (!Overlaps(offset, length) || !TryTarget(space, out ulong barOffset, out int width))
            return;
        Span<byte> data = stackalloc byte[4];
        for (int i = 0; i < 4; i++)
            data[i] = space.ReadByte(_capability + DataField + i);
        function.AccessBar(barOffset, data[..width], write: true);
    }

    private bool Overlaps(int offset, int length) =>
        _capability >= 0 && offset < _capability + DataField + 4 && offset + length > _capability + DataField;

    private bool TryTarget(PciConfigSpace space, out ulong barOffset, out int width)
    {
        barOffset = space.ReadUInt32(_capability + OffsetField);
        width = (int)space.ReadUInt32(_capability + LengthField);
        return space.ReadByte(_capability + BarField) == VirtioPciLayout.Bar
            && width is 1 or 2 or 4
            && barOffset % (ulong)width == 0;
    }
}
