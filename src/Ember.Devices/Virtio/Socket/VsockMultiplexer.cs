using Ember.Devices.Virtio.Queues;
using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// The protocol half of <see cref="VirtioVsock"/>: the connection table keyed by (host port, guest port), what each
/// guest packet does to it (virtio 1.2 §5.10.6), Firecracker's host-side handshake, credit in both directions, and
/// which packet goes into the guest's next receive buffer. It knows descriptor chains only through their reader and
/// writer and the host only through <see cref="IVsockBackend"/> and <see cref="IVsockHostStream"/>.
/// </summary>
/// <remarks>
/// Not thread-safe: the device calls it under its lock. Streams are never started or disposed here (a backend may wait
/// for its event loop there); they are collected for the device to handle once its lock is released.
/// </remarks>
internal sealed class VsockMultiplexer
{
    /// <summary>VMADDR_PORT_ANY (0xFFFFFFFF) is no port; the ephemeral range stops short of it.</summary>
    private const uint LastEphemeralPort = 0xFFFF_FFFE;

    private readonly ulong _guestCid;
    private readonly IVsockBackend _backend;
    private readonly Dictionary<VsockConnectionKey, VsockConnection> _connections = [];
    private readonly Dictionary<IVsockHostStream, VsockConnection> _byStream = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<VsockConnection> _receiveWork = new();
    private readonly Queue<VsockPacketHeader> _resets = new();
    private readonly List<IVsockHostStream> _toStart = [];
    private readonly List<IVsockHostStream> _toClose = [];
    private readonly byte[] _payload = new byte[VsockLimits.MaxPacketPayload];
    private uint _nextHostPort = VsockLimits.FirstEphemeralPort;
    private bool _active;

    public VsockMultiplexer(ulong guestCid, IVsockBackend backend)
    {
        _guestCid = guestCid;
        _backend = backend;
    }

    /// <summary>Connections, including host programs that have not sent their CONNECT line yet.</summary>
    public int ConnectionCount => _byStream.Count;

    /// <summary>Guest packets dropped: too short, a forged source, an oversized or missing payload, an unknown op or type.</summary>
    public long DroppedPackets { get; private set; }

    /// <summary>Resets not sent because <see cref="VsockLimits.MaxQueuedResets"/> were already waiting for receive buffers.</summary>
    public long DroppedResets { get; private set; }

    /// <summary>Connections refused for lack of room (<see cref="VsockLimits.MaxConnections"/>) or of a driver.</summary>
    public long RefusedConnections { get; private set; }

    public bool HasReceiveWork => _resets.Count > 0 || _receiveWork.Count > 0;

    /// <summary>The state of the connection with these ports, or null.</summary>
    public VsockConnectionState? FindState(VsockConnectionKey key) => _connections.TryGetValue(key, out var c) ? c.State : null;

    public void Activate() => _active = true;

    /// <summary>The driver went away (reset, or a broken queue): every connection ends, with nobody left to tell.</summary>
    public void Deactivate()
    {
        _active = false;
        foreach (var connection in _byStream.Values)
        {
            connection.IsClosed = true;
            _toClose.Add(connection.Stream);
        }
        _byStream.Clear();
        _connections.Clear();
        _receiveWork.Clear();
        _resets.Clear();
    }

    /// <summary>Hands over the streams to start and to dispose, for the caller to handle outside its lock (starts first).</summary>
    public void TakeStreamWork(List<IVsockHostStream> start, List<IVsockHostStream> close)
    {
        start.AddRange(_toStart);
        _toStart.Clear();
        close.AddRange(_toClose);
        _toClose.Clear();
    }

    // ---- Guest to host: one packet from the transmit queue -------------------------------------------------------

    /// <summary>Carries out one guest packet; malformed ones are dropped or answered with a reset, never thrown on.</summary>
    public void HandleGuestPacket(DescriptorChainReader reader)
    {
        Span<byte> raw = stackalloc byte[VsockPacketHeader.Size];
        // One copy of the header: the guest may rewrite its buffer meanwhile, the copy stays as it was.
        if (!reader.TryReadExact(raw) || !VsockPacketHeader.TryRead(raw, out var header))
        {
            DroppedPackets++;
            return;
        }
        if (header.SourceCid != _guestCid)
        {
            // Not from this guest's address: answering would speak to someone who did not ask.
            DroppedPackets++;
            return;
        }
        if (header.DestinationCid != VsockCid.Host)
        {
            // Nothing but the host is reachable through this device; a reset ends the guest's wait at once.
            DroppedPackets++;
            ReplyReset(header);
            return;
        }
        var key = new VsockConnectionKey(header.DestinationPort, header.SourcePort);
        _connections.TryGetValue(key, out var connection);
        if (header.Length > VsockLimits.MaxPacketPayload || header.Length > reader.Remaining || header.Type != VsockSocketType.Stream)
        {
            DroppedPackets++;
            if (connection is not null)
                Close(connection, reset: true);
            else
                ReplyReset(header);
            return;
        }
        switch (header.Op)
        {
            case VsockOp.Request:
                HandleRequest(header, key, connection);
                return;
            case VsockOp.Reset:
                if (connection is not null)
                    Close(connection, reset: false);
                return;
        }
        if (connection is null)
        {
            ReplyReset(header);
            return;
        }
        connection.PeerBufferAllocation = header.BufferAllocation;
        connection.PeerForwardCount = header.ForwardCount;
        if (connection.PeerCredit > 0)
            connection.CreditRequested = false;
        switch (header.Op)
        {
            case VsockOp.Response:
                HandleResponse(connection);
                break;
            case VsockOp.Shutdown:
                HandleShutdown(connection, (VsockShutdownFlags)header.Flags);
                break;
            case VsockOp.ReadWrite:
                HandlePayload(connection, header.Length, reader);
                break;
            case VsockOp.CreditUpdate:
                // The credit fields above were the point.
                break;
            case VsockOp.CreditRequest:
                connection.Pending |= VsockPendingPackets.CreditUpdate;
                break;
            default:
                DroppedPackets++;
                Close(connection, reset: true);
                break;
        }
        Refresh(connection);
    }

    /// <summary>The guest connects to host port dst_port: Firecracker's scheme forwards it to "&lt;uds_path&gt;_&lt;port&gt;".</summary>
    private void HandleRequest(VsockPacketHeader header, VsockConnectionKey key, VsockConnection? existing)
    {
        if (existing is not null)
        {
            // A second request on a live connection: the two ends no longer agree on anything.
            Close(existing, reset: true);
            return;
        }
        if (_byStream.Count >= VsockLimits.MaxConnections)
        {
            RefusedConnections++;
            ReplyReset(header);
            return;
        }
        var stream = _backend.ConnectToHost(header.DestinationPort);
        if (stream is null)
        {
            ReplyReset(header);
            return;
        }
        var connection = new VsockConnection(stream, VsockConnectionState.Established)
        {
            Key = key,
            PeerBufferAllocation = header.BufferAllocation,
            PeerForwardCount = header.ForwardCount,
            Pending = VsockPendingPackets.Response,
        };
        _connections.Add(key, connection);
        _byStream.Add(stream, connection);
        _toStart.Add(stream);
        Refresh(connection);
    }

    /// <summary>The guest accepted a host program's connection: tell the program its port, then carry bytes.</summary>
    private void HandleResponse(VsockConnection connection)
    {
        if (connection.State != VsockConnectionState.AwaitingResponse)
        {
            Close(connection, reset: true);
            return;
        }
        connection.State = VsockConnectionState.Established;
        Span<byte> acknowledgement = stackalloc byte[HostConnectLine.MaxAcknowledgementLength];
        int length = HostConnectLine.WriteAcknowledgement(connection.Key.LocalPort, acknowledgement);
        // The program is waiting for this line and has read nothing yet, so its socket buffer takes it whole;
        // anything else means it is gone.
        var written = connection.Stream.Write(acknowledgement[..length]);
        if (written.Status != SocketIoStatus.Transferred || written.Count != length)
            Close(connection, reset: true);
    }

    private void HandleShutdown(VsockConnection connection, VsockShutdownFlags flags)
    {
        if (connection.State != VsockConnectionState.Established)
        {
            Close(connection, reset: true);
            return;
        }
        connection.GuestShutdown |= flags & (VsockShutdownFlags.Receive | VsockShutdownFlags.Send);
        SettleShutdowns(connection);
    }

    private void HandlePayload(VsockConnection connection, uint length, DescriptorChainReader reader)
    {
        if (connection.State != VsockConnectionState.Established || (connection.GuestShutdown & VsockShutdownFlags.Send) != 0)
        {
            Close(connection, reset: true);
            return;
        }
        if (length == 0)
            return;
        if (length > connection.FreeReceiveSpace)
        {
            // Beyond the credit we gave: buffering it would let the guest grow host memory at will.
            DroppedPackets++;
            Close(connection, reset: true);
            return;
        }
        var payload = _payload.AsSpan(0, (int)length);
        if (!reader.TryReadExact(payload))
        {
            DroppedPackets++;
            Close(connection, reset: true);
            return;
        }
        connection.ReceivedFromGuest += length;
        if (connection.HostBound.IsEmpty)
        {
            var result = connection.Stream.Write(payload);
            if (result.Status == SocketIoStatus.Closed)
            {
                // The host program stopped reading for good; only the guest can still be told.
                Close(connection, reset: true);
                return;
            }
            int written = result.Status == SocketIoStatus.Transferred ? Math.Clamp(result.Count, 0, payload.Length) : 0;
            connection.ForwardedToHost += (uint)written;
            payload = payload[written..];
        }
        // Fits: what is buffered never exceeds what the guest may have in flight, which the check above bounds.
        if (!connection.HostBound.TryAppend(payload))
        {
            Close(connection, reset: true);
            return;
        }
        connection.OweCreditUpdateIfDue();
    }

    // ---- Host side: connections to the listener and readiness of streams ------------------------------------------

    public void HostConnected(IVsockHostStream stream)
    {
        if (_byStream.ContainsKey(stream))
            return;
        if (!_active || _byStream.Count >= VsockLimits.MaxConnections)
        {
            RefusedConnections++;
            _toClose.Add(stream);
            return;
        }
        var connection = new VsockConnection(stream, VsockConnectionState.AwaitingConnectLine);
        _byStream.Add(stream, connection);
        _toStart.Add(stream);
        Refresh(connection);
    }

    public void StreamReady(IVsockHostStream stream, VsockStreamEvents events)
    {
        // A stream already closed here may still report once; it is nobody's now.
        if (!_byStream.TryGetValue(stream, out var connection))
            return;
        if ((events & VsockStreamEvents.HangUp) != 0)
            connection.HostHungUp = true;
        switch (connection.State)
        {
            case VsockConnectionState.AwaitingConnectLine:
                ReadConnectLine(connection);
                break;
            case VsockConnectionState.AwaitingResponse:
                // Not read until the guest answers; a hang-up means the program left before it did.
                if (connection.HostHungUp)
                    Close(connection, reset: true);
                break;
            case VsockConnectionState.Established:
                if ((events & (VsockStreamEvents.Readable | VsockStreamEvents.HangUp)) != 0)
                    connection.HostReadable = true;
                if (connection.HostHungUp && connection.HostEndOfStream && (connection.ShutdownToSend & VsockShutdownFlags.Receive) == 0)
                {
                    connection.ShutdownToSend |= VsockShutdownFlags.Receive;
                    connection.Pending |= VsockPendingPackets.Shutdown;
                }
                if ((events & VsockStreamEvents.Writable) != 0 || connection.HostHungUp)
                    FlushHostBound(connection);
                break;
        }
        Refresh(connection);
    }

    /// <summary>Reads at most the line's cap, so a program can make the device hold no more than that before it names a port.</summary>
    private void ReadConnectLine(VsockConnection connection)
    {
        while (connection.ConnectLineLength < connection.ConnectLine.Length)
        {
            var result = connection.Stream.Read(connection.ConnectLine.AsSpan(connection.ConnectLineLength));
            if (result.Status == SocketIoStatus.WouldBlock)
                return;
            if (result.Status == SocketIoStatus.Closed || result.Count <= 0)
            {
                Close(connection, reset: false);
                return;
            }
            connection.ConnectLineLength += Math.Min(result.Count, connection.ConnectLine.Length - connection.ConnectLineLength);
            var status = HostConnectLine.Parse(connection.ConnectLine.AsSpan(0, connection.ConnectLineLength), out uint port, out int lineLength);
            if (status == ConnectLineStatus.Complete)
            {
                BeginHostConnection(connection, port, lineLength);
                return;
            }
            if (status != ConnectLineStatus.Incomplete)
            {
                // Not a line this device understands: the program hears nothing but the end of its connection.
                Close(connection, reset: false);
                return;
            }
        }
        Close(connection, reset: false);
    }

    private void BeginHostConnection(VsockConnection connection, uint guestPort, int lineLength)
    {
        var key = new VsockConnectionKey(AllocateHostPort(guestPort), guestPort);
        connection.Key = key;
        connection.State = VsockConnectionState.AwaitingResponse;
        connection.Pending |= VsockPendingPackets.Request;
        connection.EarlyPayload = connection.ConnectLine.AsSpan(lineLength, connection.ConnectLineLength - lineLength).ToArray();
        _connections.Add(key, connection);
    }

    /// <summary>The next free host port from the ephemeral range; at most <see cref="VsockLimits.MaxConnections"/> can be taken.</summary>
    private uint AllocateHostPort(uint guestPort)
    {
        while (true)
        {
            uint port = _nextHostPort;
            _nextHostPort = port >= LastEphemeralPort ? VsockLimits.FirstEphemeralPort : port + 1;
            if (!_connections.ContainsKey(new VsockConnectionKey(port, guestPort)))
                return port;
        }
    }

    private void FlushHostBound(VsockConnection connection)
    {
        if (!connection.HostBound.IsEmpty)
        {
            int written = connection.HostBound.Flush(connection.Stream, out bool closed);
            connection.ForwardedToHost += (uint)written;
            if (closed)
            {
                Close(connection, reset: true);
                return;
            }
            connection.OweCreditUpdateIfDue();
        }
        SettleShutdowns(connection);
    }

    /// <summary>
    /// Once the guest's bytes are all with the host: its SHUTDOWN(send) becomes the host stream's end, and with both
    /// directions shut the connection is over, which the guest hears as a reset (as Linux and Firecracker expect).
    /// </summary>
    private void SettleShutdowns(VsockConnection connection)
    {
        if (connection.IsClosed || !connection.HostBound.IsEmpty)
            return;
        if ((connection.GuestShutdown & VsockShutdownFlags.Send) != 0 && !connection.HostWriteShut)
        {
            connection.Stream.ShutdownWrite();
            connection.HostWriteShut = true;
        }
        if (connection.GuestShutdown == (VsockShutdownFlags.Receive | VsockShutdownFlags.Send))
            Close(connection, reset: true);
    }

    // ---- Host to guest: the next packet for a receive buffer -----------------------------------------------------

    /// <summary>
    /// Writes the next packet owed to the guest into <paramref name="writer"/> (at least a header's worth of room);
    /// false when nothing can go now, and then nothing was written. Resets come first, then connections in turn.
    /// </summary>
    public bool TryWriteReceivePacket(DescriptorChainWriter writer)
    {
        if (writer.Capacity < VsockPacketHeader.Size)
            return false;
        if (_resets.TryDequeue(out var reset))
        {
            VsockPackets.Write(writer, reset, []);
            return true;
        }
        // Each connection gets one turn per call, so one that cannot produce (too small a buffer) cannot spin here.
        for (int turns = _receiveWork.Count; turns > 0 && _receiveWork.TryDequeue(out var connection); turns--)
        {
            connection.InReceiveQueue = false;
            if (connection.IsClosed)
                continue;
            bool produced = TryProduce(connection, writer);
            Refresh(connection);
            if (produced)
                return true;
        }
        return false;
    }

    private bool TryProduce(VsockConnection connection, DescriptorChainWriter writer)
    {
        if (connection.TakePending(VsockPendingPackets.Request))
            return Send(connection, writer, VsockOp.Request);
        if (connection.TakePending(VsockPendingPackets.Response))
            return Send(connection, writer, VsockOp.Response);
        if (TrySendPayload(connection, writer))
            return true;
        if (connection.TakePending(VsockPendingPackets.CreditUpdate))
            return Send(connection, writer, VsockOp.CreditUpdate);
        if (connection.TakePending(VsockPendingPackets.CreditRequest))
            return Send(connection, writer, VsockOp.CreditRequest);
        if (connection.TakePending(VsockPendingPackets.Shutdown))
            return Send(connection, writer, VsockOp.Shutdown, (uint)connection.ShutdownToSend);
        return false;
    }

    /// <summary>One ReadWrite of what the host sent, as much as the guest's credit, its buffer and the packet cap allow.</summary>
    private bool TrySendPayload(VsockConnection connection, DescriptorChainWriter writer)
    {
        if (!connection.MaySendPayload)
            return false;
        uint room = writer.Capacity - VsockPacketHeader.Size;
        int limit = (int)Math.Min(Math.Min(room, connection.PeerCredit), (uint)VsockLimits.MaxPacketPayload);
        if (limit == 0)
            return false;
        int count;
        if (connection.EarlyPayloadRemaining > 0)
        {
            count = Math.Min(limit, connection.EarlyPayloadRemaining);
            connection.EarlyPayload.AsSpan(connection.EarlyPayloadOffset, count).CopyTo(_payload);
            connection.EarlyPayloadOffset += count;
        }
        else if (connection.HostReadable)
        {
            var result = connection.Stream.Read(_payload.AsSpan(0, limit));
            if (result.Status == SocketIoStatus.WouldBlock)
            {
                connection.HostReadable = false;
                return false;
            }
            if (result.Status == SocketIoStatus.Closed || result.Count <= 0)
            {
                // The host sends no more; a host end gone both ways receives no more either.
                connection.HostEndOfStream = true;
                connection.HostReadable = false;
                connection.ShutdownToSend |= VsockShutdownFlags.Send | (connection.HostHungUp ? VsockShutdownFlags.Receive : 0);
                connection.Pending |= VsockPendingPackets.Shutdown;
                return false;
            }
            count = Math.Min(result.Count, limit);
        }
        else
        {
            return false;
        }
        connection.SentToGuest += (uint)count;
        return Send(connection, writer, VsockOp.ReadWrite, 0, _payload.AsSpan(0, count));
    }

    private bool Send(VsockConnection connection, DescriptorChainWriter writer, VsockOp op, uint flags = 0, ReadOnlySpan<byte> payload = default)
    {
        var header = VsockPackets.ForConnection(connection, _guestCid, op, flags, (uint)payload.Length);
        // Every packet carries our credit, so none needs a CREDIT_UPDATE of its own after it.
        connection.AdvertisedForwardCount = connection.ForwardedToHost;
        connection.Pending &= ~VsockPendingPackets.CreditUpdate;
        VsockPackets.Write(writer, header, payload);
        return true;
    }

    // ---- Bookkeeping -----------------------------------------------------------------------------------------------

    /// <summary>After anything touched a connection: ask its stream for what the connection can use, and queue it if it owes the guest a packet.</summary>
    private void Refresh(VsockConnection connection)
    {
        if (connection.IsClosed)
            return;
        bool hasData = connection.EarlyPayloadRemaining > 0 || connection.HostReadable;
        if (connection.MaySendPayload && hasData && connection.PeerCredit == 0 && !connection.CreditRequested)
        {
            // Stalled on the guest's credit: ask once; its answer (or any later packet) re-opens the flow.
            connection.CreditRequested = true;
            connection.Pending |= VsockPendingPackets.CreditRequest;
        }
        connection.Stream.RequestEvents(connection.WantedEvents());
        bool owes = connection.Pending != VsockPendingPackets.None
            || (connection.MaySendPayload && hasData && connection.PeerCredit > 0);
        if (owes && !connection.InReceiveQueue)
        {
            connection.InReceiveQueue = true;
            _receiveWork.Enqueue(connection);
        }
    }

    /// <summary>Ends a connection now; with <paramref name="reset"/> the guest is told (a RESET), otherwise it told us.</summary>
    private void Close(VsockConnection connection, bool reset)
    {
        if (connection.IsClosed)
            return;
        connection.IsClosed = true;
        _byStream.Remove(connection.Stream);
        if (connection.State != VsockConnectionState.AwaitingConnectLine)
        {
            _connections.Remove(connection.Key);
            if (reset)
                QueueReset(VsockPackets.ResetOf(connection.Key, _guestCid));
        }
        _toClose.Add(connection.Stream);
    }

    /// <summary>Answers a packet that has no connection with a reset from where it was sent to; never a reset with a reset.</summary>
    private void ReplyReset(VsockPacketHeader packet)
    {
        if (packet.Op == VsockOp.Reset)
            return;
        QueueReset(VsockPackets.ResetAnswering(packet, _guestCid));
    }

    private void QueueReset(VsockPacketHeader header)
    {
        if (_resets.Count >= VsockLimits.MaxQueuedResets)
        {
            DroppedResets++;
            return;
        }
        _resets.Enqueue(header);
    }
}
