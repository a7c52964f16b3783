using Ember.Devices.Pci;
using Xunit;

namespace Ember.Devices.Tests.Pci;

public sealed class PciCapabilityListTests
{
    private readonly PciConfigSpace _space = new(new PciFunctionIdentity(0x1AF4, 0x1041, new PciClassCode(0x02, 0x00, 0x00)));

    /// <summary>Walks the list the way an OS does: from 0x34, following Next until 0, with a hop limit.</summary>
    private List<(int Offset, byte Id)> Walk()
    {
        var found = new List<(int, byte)>();
        int pointer = _space.GuestRead8(0x34) & 0xFC;
        while (pointer != 0 && found.Count < 48)
        {
            found.Add((pointer, _space.GuestRead8(pointer)));
            pointer = _space.GuestRead8(pointer + 1) & 0xFC;
        }
        return found;
    }

    [Fact]
    public void CapabilitiesAreLinkedInOrderFromTheHeaderPointer()
    {
        int first = _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [14, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        int second = _space.Capabilities.Add(PciCapabilityId.MsiX, [0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        int third = _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [5, 2, 0]);

        Assert.Equal(0x40, first);
        Assert.Equal(0x50, second);   // 0x40 + 16 bytes
        Assert.Equal(0x5C, third);    // 0x50 + 12 bytes
        Assert.Equal([(0x40, PciCapabilityId.VendorSpecific), (0x50, PciCapabilityId.MsiX), (0x5C, PciCapabilityId.VendorSpecific)], Walk());
        Assert.Equal(_space.Capabilities.Entries, Walk());
        Assert.Equal(0x10, _space.GuestRead16(0x06) & 0x10);
        Assert.Equal(0x50, _space.Capabilities.Find(PciCapabilityId.MsiX));
        Assert.Null(_space.Capabilities.Find(PciCapabilityId.Msi));
    }

    [Fact]
    public void OddLengthCapabilitiesStillStartOnDwords()
    {
        _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [3]);
        int next = _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [3]);
        Assert.Equal(0x44, next);
        Assert.Equal(3, _space.GuestRead8(0x42));
    }

    [Fact]
    public void CapabilityIsReadOnlyExceptItsWritableBits()
    {
        int offset = _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [0x08, 0xAA, 0x00, 0x00, 0x00, 0x00],
            writableBody: [0x00, 0x0F, 0xFF, 0x00, 0x00, 0x00]);
        _space.GuestWrite32(offset, 0xFFFF_FFFF);
        _space.GuestWrite32(offset + 4, 0xFFFF_FFFF);

        Assert.Equal(PciCapabilityId.VendorSpecific, _space.GuestRead8(offset));
        Assert.Equal(0, _space.GuestRead8(offset + 1));
        Assert.Equal(0x08, _space.GuestRead8(offset + 2));
        Assert.Equal(0xAF, _space.GuestRead8(offset + 3));
        Assert.Equal(0xFF, _space.GuestRead8(offset + 4));
        Assert.Equal(0x00, _space.GuestRead8(offset + 5));
    }

    [Fact]
    public void CapabilitiesStayBelow256Bytes()
    {
        var big = new byte[0xB0];
        _space.Capabilities.Add(PciCapabilityId.VendorSpecific, big);   // 0x40..0xF2
        Assert.Throws<InvalidOperationException>(() => _space.Capabilities.Add(PciCapabilityId.VendorSpecific, new byte[0x0C]));
        Assert.Single(Walk());
    }

    [Fact]
    public void MaskOfTheWrongLengthIsRefused() =>
        Assert.Throws<ArgumentException>(() => _space.Capabilities.Add(PciCapabilityId.VendorSpecific, [1, 2], writableBody: [0xFF]));
}
