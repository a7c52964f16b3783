namespace Ember.Devices.Virtio.Socket;

/// <summary>A vsock packet's operation (virtio 1.2 §5.10.6, the <c>op</c> field). Any other value is invalid.</summary>
public enum VsockOp : ushort
{
    Invalid = 0,

    /// <summary>Open a connection to dst_port.</summary>
    Request = 1,

    /// <summary>Accept a Request.</summary>
    Response = 2,

    /// <summary>Refuse a Request or abort a connection.</summary>
    Reset = 3,

    /// <summary>Stop receiving and/or sending (<see cref="VsockShutdownFlags"/>); the peer answers with Reset when both are done.</summary>
    Shutdown = 4,

    /// <summary>Payload: <c>len</c> bytes follow the header.</summary>
    ReadWrite = 5,

    /// <summary>Tell the peer our buf_alloc and fwd_cnt (credit, §5.10.6.3).</summary>
    CreditUpdate = 6,

    /// <summary>Ask the peer for a CreditUpdate.</summary>
    CreditRequest = 7,
}
