namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// One vsock stream connection between the guest and a host stream, as <see cref="VsockMultiplexer"/> keeps it:
/// its state, both sides' credit (virtio 1.2 §5.10.6.3), what it owes the guest, and what it holds for the host.
/// Counters are free-running 32-bit values, as on the wire: differences are taken modulo 2^32.
/// </summary>
internal sealed class VsockConnection
{
    public VsockConnection(IVsockHostStream stream, VsockConnectionState state)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Stream = stream;
        State = state;
    }

    public IVsockHostStream Stream { get; }

    public VsockConnectionState State { get; set; }

    /// <summary>The ports; meaningful once the connection left <see cref="VsockConnectionState.AwaitingConnectLine"/>.</summary>
    public VsockConnectionKey Key { get; set; }

    /// <summary>True once the connection left the table; stale references (the receive queue's) skip it.</summary>
    public bool IsClosed { get; set; }

    // ---- The host program's CONNECT line and what came after it in the same read ----------------------------

    public byte[] ConnectLine { get; } = new byte[HostConnectLine.MaxLength];

    public int ConnectLineLength { get; set; }

    /// <summary>Bytes the host program sent after its CONNECT line, delivered to the guest before anything read later.</summary>
    public byte[] EarlyPayload { get; set; } = [];

    public int EarlyPayloadOffset { get; set; }

    public int EarlyPayloadRemaining => EarlyPayload.Length - EarlyPayloadOffset;

    // ---- Guest to host: our receive buffer, the credit we give -------------------------------------------------

    /// <summary>Guest payload bytes received on this connection (rx_cnt in the spec's terms, from our side).</summary>
    public uint ReceivedFromGuest { get; set; }

    /// <summary>Of those, bytes the host socket has taken: our fwd_cnt.</summary>
    public uint ForwardedToHost { get; set; }

    /// <summary>The fwd_cnt the guest last heard from us.</summary>
    public uint AdvertisedForwardCount { get; set; }

    public VsockHostBoundBuffer HostBound { get; } = new((int)VsockLimits.BufferAllocation);

    /// <summary>Guest bytes the guest may still send before it hears from us again; what a ReadWrite may not exceed.</summary>
    public uint FreeReceiveSpace
    {
        get
        {
            uint inUse = ReceivedFromGuest - ForwardedToHost;
            return inUse >= VsockLimits.BufferAllocation ? 0 : VsockLimits.BufferAllocation - inUse;
        }
    }

    // ---- Host to guest: the guest's receive buffer, the credit it gives ----------------------------------------

    public uint PeerBufferAllocation { get; set; }

    public uint PeerForwardCount { get; set; }

    /// <summary>Payload bytes sent to the guest (tx_cnt).</summary>
    public uint SentToGuest { get; set; }

    /// <summary>
    /// How many bytes the guest can take now: buf_alloc − (tx_cnt − fwd_cnt). A guest that claims to have consumed
    /// more than it was sent (or whose buffer shrank below what is in flight) gets nothing until it says otherwise.
    /// </summary>
    public uint PeerCredit
    {
        get
        {
            uint inFlight = SentToGuest - PeerForwardCount;
            return inFlight >= PeerBufferAllocation ? 0 : PeerBufferAllocation - inFlight;
        }
    }

    /// <summary>A CREDIT_REQUEST went out since the guest last gave credit; one is enough.</summary>
    public bool CreditRequested { get; set; }

    // ---- What is owed and what has ended -----------------------------------------------------------------------

    public VsockPendingPackets Pending { get; set; }

    /// <summary>The flags the next SHUTDOWN carries: everything the host side has stopped so far.</summary>
    public VsockShutdownFlags ShutdownToSend { get; set; }

    /// <summary>What the guest has said it stopped (receiving: send it nothing more; sending: expect nothing more).</summary>
    public VsockShutdownFlags GuestShutdown { get; set; }

    /// <summary>The host stream was reported readable (or hung up) and not yet read dry.</summary>
    public bool HostReadable { get; set; }

    /// <summary>The host end is gone both ways; what it sent before may still be read.</summary>
    public bool HostHungUp { get; set; }

    /// <summary>The host stream reached its end: the guest has been (or will be) told the host sends no more.</summary>
    public bool HostEndOfStream { get; set; }

    /// <summary>The host stream has been half-closed after the guest's SHUTDOWN(send) and a flushed buffer.</summary>
    public bool HostWriteShut { get; set; }

    /// <summary>Queued on the device's receive work list.</summary>
    public bool InReceiveQueue { get; set; }

    // ---- Decisions that depend on this connection alone -------------------------------------------------------

    /// <summary>Host bytes may go to the guest: established, the host has not ended, the guest still receives.</summary>
    public bool MaySendPayload =>
        State == VsockConnectionState.Established
        && !HostEndOfStream
        && (GuestShutdown & VsockShutdownFlags.Receive) == 0;

    /// <summary>Clears <paramref name="packet"/> from what is owed; true when it was owed.</summary>
    public bool TakePending(VsockPendingPackets packet)
    {
        if ((Pending & packet) == 0)
            return false;
        Pending &= ~packet;
        return true;
    }

    /// <summary>Owes the guest a CREDIT_UPDATE once enough was forwarded since it last heard (every packet to it carries the count too).</summary>
    public void OweCreditUpdateIfDue()
    {
        if (ForwardedToHost - AdvertisedForwardCount >= VsockLimits.CreditUpdateThreshold)
            Pending |= VsockPendingPackets.CreditUpdate;
    }

    /// <summary>
    /// What the host stream should report next. Reading waits while the guest has no credit or the device already
    /// knows the stream is readable (it then waits for receive buffers instead), so a host program cannot make the
    /// device hold or spin on what the guest cannot take. A hung-up stream is never asked again: it would only
    /// report its hang-up over and over.
    /// </summary>
    public VsockStreamEvents WantedEvents()
    {
        switch (State)
        {
            case VsockConnectionState.AwaitingConnectLine:
                return VsockStreamEvents.Readable;
            case VsockConnectionState.AwaitingResponse:
                return VsockStreamEvents.None;
        }
        if (HostHungUp)
            return VsockStreamEvents.None;
        var events = VsockStreamEvents.None;
        if (!HostReadable && MaySendPayload && PeerCredit > 0)
            events |= VsockStreamEvents.Readable;
        if (!HostBound.IsEmpty)
            events |= VsockStreamEvents.Writable;
        return events;
    }
}
