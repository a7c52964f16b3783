namespace Ember.TestGuests.Virtio;

/// <summary>
/// Where the virtio-vsock test guest keeps its own results, receive buffers and transmit packet, beside
/// <see cref="VirtioGuestLayout"/> (which holds the rx, tx and event queues' rings).
/// </summary>
public static class VirtioVsockGuestLayout
{
    /// <summary>The guest's CID as the device configuration gave it (dword: a CID is 32 bits in a 64-bit field).</summary>
    public const uint ResultGuestCid = VirtioGuestLayout.DeviceResults + 0x00;
    /// <summary>The connection step that was running (0-based) when the guest stopped; all ones during bring-up.</summary>
    public const uint ResultStep = VirtioGuestLayout.DeviceResults + 0x04;
    /// <summary>The op of the last packet the guest received.</summary>
    public const uint ResultLastOp = VirtioGuestLayout.DeviceResults + 0x08;
    /// <summary>Per step (dword each): the payload bytes the guest echoed.</summary>
    public const uint ResultEchoed = VirtioGuestLayout.Results + 0x100;
    /// <summary>Per step (dword each): the host port of the connection.</summary>
    public const uint ResultPeerPorts = VirtioGuestLayout.Results + 0x200;

    /// <summary>Receive buffers, each one device-writable descriptor: a packet header and up to <see cref="MaxPayload"/> bytes.</summary>
    public const uint ReceiveBuffers = VirtioGuestLayout.DeviceArea + 0x1_0000;
    public const int ReceiveBufferCount = 8;
    public const uint ReceiveBufferSize = 0x1000;

    /// <summary>The one packet the guest transmits at a time: a header and what it echoes.</summary>
    public const uint TransmitPacket = VirtioGuestLayout.DeviceArea + 0x2_0000;

    /// <summary>The header (virtio 1.2 §5.10.6: struct virtio_vsock_hdr, 44 bytes).</summary>
    public const int HeaderSize = 44;

    /// <summary>The most payload one receive buffer takes.</summary>
    public const int MaxPayload = (int)ReceiveBufferSize - HeaderSize;

    /// <summary>The buf_alloc the guest advertises: room for every byte a connection may echo (it consumes each at once).</summary>
    public const uint BufferAllocation = 64 * 1024;

    /// <summary>The most steps a program may have (COM1 lines name a step in two hex digits; results hold a dword each).</summary>
    public const int MaxSteps = 32;

    /// <summary>RAM the guest needs: up to the end of the transmit packet, with room to spare.</summary>
    public const ulong MinimumMemory = 16UL << 20;

    /// <summary>The guest's variables.</summary>
    internal const uint Variables = VirtioGuestLayout.DeviceVariables;
}
