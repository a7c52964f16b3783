namespace Ember.Devices.Virtio.Socket;

/// <summary>Control packets one connection owes the guest, sent in this order when receive buffers allow.</summary>
[Flags]
internal enum VsockPendingPackets
{
    None = 0,
    Request = 1,
    Response = 2,
    CreditUpdate = 4,
    CreditRequest = 8,
    Shutdown = 16,
}
