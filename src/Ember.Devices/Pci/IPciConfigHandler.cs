namespace Ember.Devices.Pci;

/// <summary>
/// Behaviour behind a range of configuration space that is more than stored bytes: a capability whose
/// control bits start or stop something (MSI-X Enable), or a window that reads through to a BAR
/// (virtio's PCI configuration access capability). The configuration space calls the handler with its
/// lock held, so a handler may use the space's raw accessors but must not block.
/// Offsets are absolute configuration-space offsets of the part of the access inside the handler's range.
/// </summary>
public interface IPciConfigHandler
{
    /// <summary>The guest is about to read [offset, offset + length); refresh the bytes if they are computed.</summary>
    void BeforeGuestRead(PciConfigSpace space, int offset, int length)
    {
    }

    /// <summary>The guest wrote [offset, offset + length); the write masks have already been applied.</summary>
    void AfterGuestWrite(PciConfigSpace space, int offset, int length);
}
