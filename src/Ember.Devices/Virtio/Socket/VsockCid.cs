namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// Context identifiers (vsock(7), virtio 1.2 §5.10.4): 0 and 1 are reserved, 2 is the host, and 0xFFFFFFFF is
/// VMADDR_CID_ANY. A guest's CID is 32 bits held in a 64-bit field whose upper half is reserved and zero.
/// </summary>
public static class VsockCid
{
    public const ulong Host = 2;

    /// <summary>The lowest CID a guest may have.</summary>
    public const ulong FirstGuest = 3;

    /// <summary>VMADDR_CID_ANY: never an address a packet may carry.</summary>
    public const ulong Any = 0xFFFF_FFFF;

    /// <summary>True for a CID a guest may be configured with: 3 up to 0xFFFFFFFE.</summary>
    public static bool IsValidGuest(ulong cid) => cid is >= FirstGuest and < Any;
}
