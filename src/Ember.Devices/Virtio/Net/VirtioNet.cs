using System.Buffers.Binary;
using Ember.Devices.Virtio.Queues;
using Ember.Sys;

namespace Ember.Devices.Virtio.Net;

/// <summary>
/// virtio-net (virtio 1.2 §5.1, device ID 1): one receive queue (0) and one transmit queue (1) over an
/// <see cref="INetBackend"/>, normally a TAP. Offers CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6, MRG_RXBUF, STATUS
/// (the link is always up), MAC when an address was configured (otherwise the driver picks one), and the ring
/// features (INDIRECT_DESC, EVENT_IDX, RING_PACKED). The 12-byte header passes through to the backend and back; the offloads the driver accepts for receiving
/// are set on the backend (TUNSETOFFLOAD) at activation.
/// </summary>
/// <remarks>
/// Threat model: the driver controls the rings, every chain and every header; the host side (the TAP) hands over frames
/// of its own lengths. Queue-level damage is checked by the queue (<see cref="IVirtqueue"/>) and stops the device
/// (DEVICE_NEEDS_RESET with a configuration-change interrupt). Transmit: a frame is copied once into a 64 KiB staging
/// buffer and checked there (26 bytes to <see cref="NetHeaderLayout.MaxFrameLength"/>, only negotiated header flags and
/// GSO types); anything else goes back with used length 0, counted. Receive: the device reads at most
/// <see cref="NetHeaderLayout.MaxFrameLength"/> bytes per frame, keeps at most one frame and at most a queue's worth of
/// receive chains, and reads nothing from the TAP while the driver gives it nowhere to put a frame, so the TAP's own
/// bounded queue (not Ember's memory) absorbs a guest that stops receiving. Per-call work is bounded: a transmit run
/// answers at most 256 chains, a receive run at most the buffers the driver gave. Nothing here throws on guest input or
/// on a backend failure. Thread-safety: Activate, Notify, Reset and <see cref="OnBackendReady"/> may come from a vCPU
/// and the I/O thread at once; one lock serializes them, and interrupts are raised after it is released.
/// <para>
/// This device does not derive from <see cref="VirtioQueueDevice"/>, which answers every chain the moment it is
/// notified: receive chains must instead wait in the ring until a frame comes.
/// </para>
/// </remarks>
public sealed class VirtioNet : IVirtioDevice
{
    public const ushort DefaultQueueSize = 256;
    public const int ReceiveQueue = 0;
    public const int TransmitQueue = 1;

    /// <summary>What this device offers whatever its configuration (MAC comes on top when an address is given).</summary>
    public const ulong DeviceFeatures = NetFeature.Checksum | NetFeature.GuestChecksum | NetFeature.GuestTso4 | NetFeature.GuestTso6
        | NetFeature.HostTso4 | NetFeature.HostTso6 | NetFeature.MergeableReceiveBuffers | NetFeature.Status
        | VirtioQueueDevice.CommonFeatures;

    private readonly Lock _lock = new();
    private readonly INetBackend _backend;
    private readonly byte[] _configuration = new byte[NetConfigurationLayout.Length];
    private readonly NetReceiver _receiver = new();
    private readonly NetTransmitter _transmitter = new();
    private VirtioActivation? _activation;
    private IVirtqueue? _receiveQueue;
    private IVirtqueue? _transmitQueue;
    private ulong _features;
    private TapOffload _offload;
    private bool _needsReset;
    private bool _wantReadable;
    private bool _wantWritable;
    private NetReadiness _watching;
    private long _offloadRefusals;

    /// <param name="mac">The interface's address, or null to let the driver choose one (VIRTIO_NET_F_MAC not offered).</param>
    public VirtioNet(INetBackend backend, MacAddress? mac = null, ushort maxQueueSize = DefaultQueueSize)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (maxQueueSize == 0 || maxQueueSize > SplitRing.MaxQueueSize || (maxQueueSize & (maxQueueSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(maxQueueSize), maxQueueSize, "the queue size must be a power of two up to 32768");
        if (mac is { IsMulticast: true })
            throw new ArgumentException($"{mac} is a multicast address", nameof(mac));
        _backend = backend;
        Mac = mac;
        MaxQueueSize = maxQueueSize;
        OfferedFeatures = DeviceFeatures | (mac is null ? 0 : NetFeature.Mac);
        mac?.CopyTo(_configuration.AsSpan(NetConfigurationLayout.Mac));
        BinaryPrimitives.WriteUInt16LittleEndian(_configuration.AsSpan(NetConfigurationLayout.Status), NetConfigurationLayout.StatusLinkUp);
        BinaryPrimitives.WriteUInt16LittleEndian(_configuration.AsSpan(NetConfigurationLayout.MaxVirtqueuePairs), 1);
    }

    public VirtioDeviceType Type => VirtioDeviceType.Network;

    public ulong OfferedFeatures { get; }

    public int QueueCount => 2;

    public ushort MaxQueueSize { get; }

    public int ConfigurationLength => NetConfigurationLayout.Length;

    /// <summary>The configured address, or null when the driver picks its own.</summary>
    public MacAddress? Mac { get; }

    public bool NeedsReset
    {
        get
        {
            lock (_lock)
                return _needsReset;
        }
    }

    /// <summary>The features in force since activation (offered ∩ accepted); 0 before.</summary>
    public ulong NegotiatedFeatures
    {
        get
        {
            lock (_lock)
                return _features;
        }
    }

    /// <summary>The offloads set on the backend at the last activation.</summary>
    public TapOffload Offload
    {
        get
        {
            lock (_lock)
                return _offload;
        }
    }

    /// <summary>Frames handed to the driver.</summary>
    public long FramesReceived => Read(() => _receiver.FramesReceived);

    /// <summary>Frames from the backend that could never fit the driver's buffers, or carried an offload it did not accept.</summary>
    public long ReceiveDropped => Read(() => _receiver.FramesDropped);

    /// <summary>Receive chains given back unused because they were malformed, readable, or shorter than the header.</summary>
    public long ReceiveChainsRejected => Read(() => _receiver.ChainsRejected);

    /// <summary>Frames the backend took from the driver.</summary>
    public long FramesSent => Read(() => _transmitter.FramesSent);

    /// <summary>Transmit chains dropped: malformed, out of bounds, with headers not negotiated, or refused by the backend.</summary>
    public long TransmitDropped => Read(() => _transmitter.FramesDropped);

    /// <summary>Activations where the backend refused the driver's offloads (and got none instead).</summary>
    public long OffloadRefusals => Interlocked.Read(ref _offloadRefusals);

    /// <summary>True while a received frame waits in the device for receive buffers.</summary>
    public bool HasPendingReceiveFrame => Read(() => _receiver.HasPendingFrame);

    /// <summary>Why queue <paramref name="queue"/> stopped, or None (also for a queue that is not active).</summary>
    public QueueFault GetQueueFault(int queue) => Read(() => QueueAt(queue)?.Fault ?? QueueFault.None);

    private T Read<T>(Func<T> read)
    {
        lock (_lock)
            return read();
    }

    public void ReadConfiguration(int offset, Span<byte> data)
    {
        // The transport keeps offset and length inside ConfigurationLength; clamp anyway rather than throw.
        data.Clear();
        if ((uint)offset < (uint)_configuration.Length)
        {
            var source = _configuration.AsSpan(offset);
            source[..Math.Min(source.Length, data.Length)].CopyTo(data);
        }
    }

    /// <summary>Every field is read-only for a VERSION_1 driver (virtio 1.2 §5.1.4.2); writes are dropped.</summary>
    public void WriteConfiguration(int offset, ReadOnlySpan<byte> data)
    {
    }

    public void Activate(VirtioActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        Signals signals;
        lock (_lock)
        {
            // Only what was offered counts, whatever the transport passed on.
            _features = activation.Features & OfferedFeatures;
            _activation = activation;
            _needsReset = false;
            _receiveQueue = CreateQueue(activation, ReceiveQueue);
            _transmitQueue = CreateQueue(activation, TransmitQueue);
            _offload = NetOffloads.ForDriver(_features);
            if (_offload != TapOffload.None && !_backend.SetOffload(_offload))
            {
                // The driver gets finished frames instead, which it always takes.
                Interlocked.Increment(ref _offloadRefusals);
                _offload = TapOffload.None;
                _backend.SetOffload(TapOffload.None);
            }
            else if (_offload == TapOffload.None)
            {
                _backend.SetOffload(TapOffload.None);
            }
            _receiver.Start(_features, _receiveQueue?.Size ?? 1, _offload);
            _transmitter.Start(_features);
            signals = Service(receive: true, transmit: true);
        }
        signals.Raise();
    }

    public void Notify(int queue)
    {
        Signals signals;
        lock (_lock)
            signals = Service(receive: queue == ReceiveQueue, transmit: queue == TransmitQueue);
        signals.Raise();
    }

    /// <summary>
    /// The backend became ready as asked with <see cref="INetBackend.Watch"/>: a frame to receive, room to send. Called by
    /// whoever owns the backend (the device I/O thread); a readiness that no longer matters is harmless.
    /// </summary>
    public void OnBackendReady(NetReadiness ready)
    {
        Signals signals;
        lock (_lock)
            signals = Service(receive: ready.HasFlag(NetReadiness.Readable), transmit: ready.HasFlag(NetReadiness.Writable));
        signals.Raise();
    }

    public void Reset()
    {
        lock (_lock)
        {
            _activation = null;
            _receiveQueue = null;
            _transmitQueue = null;
            _features = 0;
            _needsReset = false;
            _receiver.Stop();
            _transmitter.Stop();
            _wantReadable = false;
            _wantWritable = false;
            UpdateWatch();
        }
    }

    private IVirtqueue? CreateQueue(VirtioActivation activation, int index) =>
        index < activation.Queues.Count && activation.Queues[index] is { } layout
            ? IVirtqueue.Create(layout, activation.Memory, _features, MaxQueueSize)
            : null;

    private IVirtqueue? QueueAt(int queue) => queue switch
    {
        ReceiveQueue => _receiveQueue,
        TransmitQueue => _transmitQueue,
        _ => null,
    };

    /// <summary>Runs the receive and/or transmit side, then works out the interrupts and the readiness to watch (under the lock).</summary>
    private Signals Service(bool receive, bool transmit)
    {
        if (_activation is not { } activation || _needsReset)
            return default;
        bool receiveSignal = false;
        bool transmitSignal = false;
        if (receive && _receiveQueue is { IsBroken: false } rx)
        {
            _wantReadable = _receiver.Run(rx, activation.Memory, _backend);
            receiveSignal = rx.NeedsInterrupt();
        }
        if (transmit && _transmitQueue is { IsBroken: false } tx)
        {
            _wantWritable = _transmitter.Run(tx, activation.Memory, _backend);
            transmitSignal = tx.NeedsInterrupt();
        }
        bool configurationSignal = false;
        if (_receiveQueue is { IsBroken: true } || _transmitQueue is { IsBroken: true })
        {
            configurationSignal = true;
            _needsReset = true;
            _wantReadable = false;
            _wantWritable = false;
        }
        UpdateWatch();
        return new Signals(activation.Interrupt, receiveSignal, transmitSignal, configurationSignal);
    }

    private void UpdateWatch()
    {
        var wanted = (_wantReadable ? NetReadiness.Readable : NetReadiness.None) | (_wantWritable ? NetReadiness.Writable : NetReadiness.None);
        if (wanted == _watching)
            return;
        _watching = wanted;
        _backend.Watch(wanted);
    }

    /// <summary>The interrupts one service run owes the driver, raised after the lock is released.</summary>
    private readonly record struct Signals(IVirtioInterrupt? Interrupt, bool ReceiveQueue, bool TransmitQueue, bool Configuration)
    {
        public void Raise()
        {
            if (Interrupt is null)
                return;
            if (ReceiveQueue)
                Interrupt.SignalQueue(VirtioNet.ReceiveQueue);
            if (TransmitQueue)
                Interrupt.SignalQueue(VirtioNet.TransmitQueue);
            if (Configuration)
                Interrupt.SignalConfigurationChange();
        }
    }
}
