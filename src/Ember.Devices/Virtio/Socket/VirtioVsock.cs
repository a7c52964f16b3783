using System.Buffers.Binary;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// virtio-vsock (virtio 1.2 §5.10, device ID 19), stream sockets only, with Firecracker's host side (docs/vsock.md)
/// behind an <see cref="IVsockBackend"/>: host programs connect to one listener and write "CONNECT &lt;port&gt;\n" to
/// reach a guest port, and a guest connecting to host port P reaches whatever listens at "&lt;uds_path&gt;_P". Queue 0
/// carries packets to the guest (rx), queue 1 packets from it (tx), queue 2 events (unused: the device never
/// sends a transport reset). The configuration is the guest's CID (le64, read-only). Offers VERSION_1, and the
/// ring features every queue device here offers (INDIRECT_DESC, EVENT_IDX).
/// </summary>
/// <remarks>
/// <para>
/// Threat model. Every packet header and length comes from the guest, and every byte on a host stream from any local
/// program that can open the socket. A header is copied once and checked before use: the source CID must be the
/// guest's and the destination the host (else dropped, or reset when only the destination is wrong), the type a
/// stream, len at most <see cref="VsockLimits.MaxPacketPayload"/> and no more than the chain holds. Payload moves
/// through one reused 64 KiB buffer. Connections are capped at <see cref="VsockLimits.MaxConnections"/>, host programs
/// still sending their CONNECT line included, and that line at 32 bytes. What the device buffers for a host socket is
/// bounded by the buf_alloc it advertises (<see cref="VsockLimits.BufferAllocation"/>): a guest that sends beyond the
/// credit it was given is reset, not buffered. Resets owed for packets that match nothing are capped too. In the other
/// direction the device reads a host stream only as far as the guest's credit and its posted receive buffers allow,
/// and stops asking for readiness while it cannot deliver, so a host program cannot make it buffer or spin. A guest
/// lying about its fwd_cnt gets no credit, not more. Nothing here throws on guest or host input; a broken ring sets
/// DEVICE_NEEDS_RESET and ends every connection.
/// </para>
/// <para>
/// Threads: the transport's calls (possibly from vCPU threads) and the backend's events (its event loop) serialize on
/// one lock. Interrupts, and starting or disposing host streams (which may wait for the event loop), happen after it
/// is released. Not guarded: a guest that never answers a host program's request, or never resets a connection it
/// was told is over, keeps that connection (and one of the capped slots) until the program leaves or the driver resets.
/// </para>
/// </remarks>
public sealed class VirtioVsock : IVirtioDevice, IVsockHostEvents, IDisposable
{
    public const ushort DefaultQueueSize = 256;

    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;
    public const int EventQueue = 2;

    /// <summary>struct virtio_vsock_config: le64 guest_cid (§5.10.4).</summary>
    public const int ConfigurationSize = 8;

    private readonly Lock _lock = new();
    private readonly IVsockBackend _backend;
    private readonly VsockMultiplexer _multiplexer;
    private VirtioActivation? _activation;
    private IVirtqueue? _receive;
    private IVirtqueue? _transmit;
    private DescriptorChain? _heldReceiveChain;
    private ulong _features;
    private bool _needsReset;
    private bool _disposed;
    private long _droppedChains;

    /// <param name="guestCid">The guest's context ID, 3 to 0xFFFFFFFE.</param>
    /// <param name="backend">The host side; the device owns it from now on and disposes it.</param>
    public VirtioVsock(ulong guestCid, IVsockBackend backend, ushort maxQueueSize = DefaultQueueSize)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (!VsockCid.IsValidGuest(guestCid))
            throw new ArgumentOutOfRangeException(nameof(guestCid), guestCid, $"a guest CID must be between {VsockCid.FirstGuest} and {VsockCid.Any - 1}");
        if (maxQueueSize == 0 || maxQueueSize > SplitRing.MaxQueueSize || (maxQueueSize & (maxQueueSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(maxQueueSize), maxQueueSize, "the queue size must be a power of two up to 32768");
        GuestCid = guestCid;
        MaxQueueSize = maxQueueSize;
        _backend = backend;
        _multiplexer = new VsockMultiplexer(guestCid, backend);
        backend.Attach(this);
    }

    public ulong GuestCid { get; }

    public VirtioDeviceType Type => VirtioDeviceType.Socket;

    public ulong OfferedFeatures => VirtioQueueDevice.CommonFeatures;

    public int QueueCount => 3;

    public ushort MaxQueueSize { get; }

    public int ConfigurationLength => ConfigurationSize;

    public bool NeedsReset
    {
        get { lock (_lock) return _needsReset; }
    }

    public ulong NegotiatedFeatures
    {
        get { lock (_lock) return _features; }
    }

    /// <summary>Connections, including host programs that have not sent their CONNECT line yet.</summary>
    public int ConnectionCount
    {
        get { lock (_lock) return _multiplexer.ConnectionCount; }
    }

    /// <summary>The state of the connection between host port <paramref name="hostPort"/> and guest port <paramref name="guestPort"/>, or null.</summary>
    public VsockConnectionState? FindConnection(uint hostPort, uint guestPort)
    {
        lock (_lock)
            return _multiplexer.FindState(new VsockConnectionKey(hostPort, guestPort));
    }

    /// <summary>Guest packets dropped as malformed (see the threat model).</summary>
    public long DroppedPackets
    {
        get { lock (_lock) return _multiplexer.DroppedPackets; }
    }

    /// <summary>Connections refused: the cap was reached, or no driver was there to take a host program's.</summary>
    public long RefusedConnections
    {
        get { lock (_lock) return _multiplexer.RefusedConnections; }
    }

    /// <summary>Descriptor chains given back unused: malformed, or a receive buffer too small for a header.</summary>
    public long DroppedChains => Interlocked.Read(ref _droppedChains);

    public void ReadConfiguration(int offset, Span<byte> data)
    {
        data.Clear();
        Span<byte> configuration = stackalloc byte[ConfigurationSize];
        BinaryPrimitives.WriteUInt64LittleEndian(configuration, GuestCid);
        if ((uint)offset < ConfigurationSize)
        {
            var source = configuration[offset..];
            source[..Math.Min(source.Length, data.Length)].CopyTo(data);
        }
    }

    /// <summary>guest_cid is the device's to set; driver writes are dropped.</summary>
    public void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
    }

    public void Activate(VirtioActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            if (_disposed)
                return;
            _features = activation.Features & OfferedFeatures;
            _activation = activation;
            _needsReset = false;
            _heldReceiveChain = null;
            _receive = CreateQueue(activation, ReceiveQueue);
            _transmit = CreateQueue(activation, TransmitQueue);
            _multiplexer.Activate();
            CheckQueues(work);
            Collect(work);
        }
        work.Run();
    }

    public void Notify(int queue)
    {
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            if (_activation is not { } activation || _needsReset)
                return;
            if (queue == TransmitQueue && _transmit is not null)
                work.SignalTransmit = DrainTransmit(_transmit, activation.Memory);
            // Receive buffers (queue 0), or the answers transmitted packets owe (queue 1), may now go out.
            if (queue is ReceiveQueue or TransmitQueue)
                PumpReceive(work);
            CheckQueues(work);
            Collect(work);
        }
        work.Run();
    }

    public void Reset()
    {
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            _activation = null;
            _receive = null;
            _transmit = null;
            _heldReceiveChain = null;
            _features = 0;
            _needsReset = false;
            _multiplexer.Deactivate();
            Collect(work);
        }
        work.Run();
    }

    void IVsockHostEvents.HostConnected(IVsockHostStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            if (_disposed)
            {
                work.Close.Add(stream);
            }
            else
            {
                _multiplexer.HostConnected(stream);
                PumpReceive(work);
                CheckQueues(work);
                Collect(work);
            }
        }
        work.Run();
    }

    void IVsockHostEvents.StreamReady(IVsockHostStream stream, VsockStreamEvents events)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            if (_disposed)
                return;
            _multiplexer.StreamReady(stream, events);
            PumpReceive(work);
            CheckQueues(work);
            Collect(work);
        }
        work.Run();
    }

    /// <summary>Ends every connection and disposes the backend (its listener). Stop the backend's event loop first.</summary>
    public void Dispose()
    {
        var work = new VsockDeferredWork();
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _activation = null;
            _receive = null;
            _transmit = null;
            _heldReceiveChain = null;
            _multiplexer.Deactivate();
            Collect(work);
        }
        work.Run();
        _backend.Dispose();
    }

    private IVirtqueue? CreateQueue(VirtioActivation activation, int index) =>
        index < activation.Queues.Count && activation.Queues[index] is { } layout
            ? IVirtqueue.Create(layout, activation.Memory, _features, MaxQueueSize)
            : null;

    /// <summary>Takes every transmitted packet; each chain goes back with used length 0 (the device writes nothing into it).</summary>
    private bool DrainTransmit(IVirtqueue queue, IGuestMemory memory)
    {
        do
        {
            while (queue.TryPop(out var chain))
            {
                if (chain.IsMalformed)
                    Interlocked.Increment(ref _droppedChains);
                else
                    _multiplexer.HandleGuestPacket(new DescriptorChainReader(chain, memory));
                queue.AddUsed(chain.HeadIndex, 0);
            }
        }
        while (queue.EnableNotification());
        return queue.NeedsInterrupt();
    }

    /// <summary>
    /// Fills receive buffers while packets are owed. A buffer is taken only when something may go into it; one taken
    /// and then not needed (the host had nothing after all) is kept for the next packet rather than returned empty.
    /// </summary>
    private void PumpReceive(VsockDeferredWork work)
    {
        if (_activation is not { } activation || _needsReset || _receive is not { IsBroken: false } queue)
            return;
        while (_multiplexer.HasReceiveWork)
        {
            if (_heldReceiveChain is null)
            {
                if (!queue.TryPop(out var chain))
                {
                    // Out of buffers with packets owed: ask to be notified when the driver adds some.
                    if (queue.EnableNotification())
                        continue;
                    break;
                }
                if (chain.IsMalformed || chain.WritableLength < VsockPacketHeader.Size)
                {
                    Interlocked.Increment(ref _droppedChains);
                    queue.AddUsed(chain.HeadIndex, 0);
                    continue;
                }
                _heldReceiveChain = chain;
            }
            var writer = new DescriptorChainWriter(_heldReceiveChain, activation.Memory, VsockPacketHeader.Size + (uint)VsockLimits.MaxPacketPayload);
            if (!_multiplexer.TryWriteReceivePacket(writer))
                break;
            queue.AddUsed(_heldReceiveChain.HeadIndex, writer.BytesWritten);
            _heldReceiveChain = null;
        }
        if (queue.NeedsInterrupt())
            work.SignalReceive = true;
    }

    /// <summary>A broken ring ends the device's service until the driver resets it (virtio 1.2 §2.1.2).</summary>
    private void CheckQueues(VsockDeferredWork work)
    {
        if (_needsReset || (_receive is not { IsBroken: true } && _transmit is not { IsBroken: true }))
            return;
        _needsReset = true;
        _heldReceiveChain = null;
        _multiplexer.Deactivate();
        work.SignalConfiguration = true;
    }

    private void Collect(VsockDeferredWork work)
    {
        work.Interrupt = _activation?.Interrupt;
        _multiplexer.TakeStreamWork(work.Start, work.Close);
    }
}
