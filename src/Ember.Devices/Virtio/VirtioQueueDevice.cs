using Ember.Devices.RateLimiting;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using Ember.Sys;

namespace Ember.Devices.Virtio;

/// <summary>
/// What every virtio device with request queues does the same way: offer VERSION_1, INDIRECT_DESC, EVENT_IDX and RING_PACKED on
/// top of its own features, build its queues on activation, drain a queue on notification (taking every
/// available chain, handing each to <see cref="ProcessChain"/>, re-arming the notification under EVENT_IDX
/// and interrupting only when the driver wants it), and forget everything on reset. A device only says what
/// one request means.
/// </summary>
/// <remarks>
/// Threat model: layouts and ring contents are hostile; <see cref="SplitVirtqueue"/> or <see cref="PackedVirtqueue"/> checks them. A broken
/// queue sets <see cref="NeedsReset"/> and raises a configuration-change interrupt (virtio 1.2 §2.1.2), after
/// which the device ignores notifications until reset. Malformed chains go back with used length 0 and are
/// counted in <see cref="DroppedChains"/>. Thread-safety: Activate, Notify and Reset may come from a vCPU and
/// the I/O thread at once; one lock per device serializes them, so <see cref="ProcessChain"/> runs alone.
/// Interrupts are raised after the lock is released.
/// Notify drains the queue without a budget: a driver that keeps adding buffers keeps the caller busy.
/// Rate limiting: a device may put a <see cref="RateLimiter"/> on a queue (<see cref="LimiterFor"/>). A chain the
/// limiter refuses is held, unanswered, as the queue's next request; the queue stops there, and the retry timer
/// (<see cref="UseRetryTimer"/>) brings the device back when the limiter says, so throttling never spins.
/// The price is fixed from the chain's segment lengths when it is popped (<see cref="ChargedBytes"/>), so a guest
/// cannot rewrite a header afterwards to pay less.
/// </remarks>
public abstract class VirtioQueueDevice : IVirtioDevice
{
    /// <summary>What a device with these queue helpers can always do: either ring kind (split, or packed under RING_PACKED).</summary>
    public const ulong CommonFeatures = VirtioFeature.Version1 | VirtioFeature.IndirectDescriptors | VirtioFeature.EventIndex | VirtioFeature.RingPacked;

    private readonly Lock _lock = new();
    private IVirtqueue?[] _queues = [];
    private DescriptorChain?[] _held = [];
    // One chain per queue that every pop refills (a request is answered before the next is taken, and a held one is
    // answered before the queue is popped again), so the request path allocates nothing.
    private DescriptorChain[] _chains = [];
    private IOneShotTimer? _retryTimer;
    private VirtioActivation? _activation;
    private ulong _features;
    private bool _needsReset;
    private long _droppedChains;

    protected VirtioQueueDevice(VirtioDeviceType type, ulong deviceFeatures, int queueCount, ushort maxQueueSize)
    {
        if (queueCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(queueCount), queueCount, "a virtio device needs at least one queue");
        if (maxQueueSize == 0 || maxQueueSize > SplitRing.MaxQueueSize || (maxQueueSize & (maxQueueSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(maxQueueSize), maxQueueSize, "the queue size must be a power of two up to 32768");
        Type = type;
        OfferedFeatures = deviceFeatures | CommonFeatures;
        QueueCount = queueCount;
        MaxQueueSize = maxQueueSize;
    }

    public VirtioDeviceType Type { get; }

    public ulong OfferedFeatures { get; }

    public int QueueCount { get; }

    public ushort MaxQueueSize { get; }

    public abstract int ConfigurationLength { get; }

    public bool NeedsReset
    {
        get
        {
            lock (_lock)
                return _needsReset;
        }
    }

    /// <summary>Chains given back unprocessed (used length 0) because they were malformed or the device could not answer them.</summary>
    public long DroppedChains => Interlocked.Read(ref _droppedChains);

    /// <summary>The features in force since activation (offered ∩ accepted); 0 before.</summary>
    public ulong NegotiatedFeatures
    {
        get
        {
            lock (_lock)
                return _features;
        }
    }

    /// <summary>Why queue <paramref name="queue"/> stopped, or None (also for a queue that is not active).</summary>
    public QueueFault GetQueueFault(int queue)
    {
        lock (_lock)
            return (uint)queue < (uint)_queues.Length && _queues[queue] is { } q ? q.Fault : QueueFault.None;
    }

    public abstract void ReadConfiguration(int offset, Span<byte> data);

    public abstract void WriteConfiguration(int offset, ReadOnlySpan<byte> data);

    public void Activate(VirtioActivation activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        bool signalConfiguration;
        lock (_lock)
        {
            // Only what was offered counts, whatever the transport passed on.
            _features = activation.Features & OfferedFeatures;
            _activation = activation;
            _needsReset = false;
            _queues = new IVirtqueue?[QueueCount];
            _held = new DescriptorChain?[QueueCount];
            _chains = new DescriptorChain[QueueCount];
            for (int i = 0; i < QueueCount; i++)
                _chains[i] = new DescriptorChain();
            for (int i = 0; i < QueueCount && i < activation.Queues.Count; i++)
            {
                if (activation.Queues[i] is { } layout)
                    _queues[i] = IVirtqueue.Create(layout, activation.Memory, _features, MaxQueueSize);
            }
            OnActivated(_features);
            signalConfiguration = _queues.Any(q => q is { IsBroken: true }) && EnterNeedsReset();
        }
        if (signalConfiguration)
            activation.Interrupt.SignalConfigurationChange();
    }

    public void Notify(int queue)
    {
        IVirtioInterrupt interrupt;
        bool signalQueue;
        bool signalConfiguration;
        TimeSpan retryAfter;
        IOneShotTimer? retryTimer;
        lock (_lock)
        {
            if (_activation is not { } activation || _needsReset || (uint)queue >= (uint)_queues.Length || _queues[queue] is not { } q)
                return;
            interrupt = activation.Interrupt;
            signalQueue = Drain(queue, q, activation.Memory, out retryAfter);
            signalConfiguration = q.IsBroken && EnterNeedsReset();
            retryTimer = _retryTimer;
        }
        if (retryAfter > TimeSpan.Zero)
            retryTimer?.Arm(retryAfter);
        // Interrupts go out after the lock is released, so a transport that holds its own lock while it
        // calls Notify can take it again inside SignalQueue without a lock-order inversion.
        if (signalQueue)
            interrupt.SignalQueue(queue);
        if (signalConfiguration)
            interrupt.SignalConfigurationChange();
    }

    public void Reset()
    {
        lock (_lock)
        {
            _queues = [];
            _held = [];
            _chains = [];
            _activation = null;
            _features = 0;
            _needsReset = false;
            OnReset();
        }
    }

    /// <summary>
    /// The timer that calls <see cref="RetryThrottled"/> once a refused request may go through. Without one, a
    /// held request waits for the driver's next notification.
    /// </summary>
    public void UseRetryTimer(IOneShotTimer timer)
    {
        ArgumentNullException.ThrowIfNull(timer);
        lock (_lock)
            _retryTimer = timer;
    }

    /// <summary>Serves the queues that hold a request the rate limiter refused (the retry timer's callback).</summary>
    public void RetryThrottled()
    {
        for (int queue = 0; queue < QueueCount; queue++)
        {
            bool held;
            lock (_lock)
                held = (uint)queue < (uint)_held.Length && _held[queue] is not null;
            if (held)
                Notify(queue);
        }
    }

    /// <summary>Whether queue <paramref name="queue"/> waits on its rate limiter with a request in hand.</summary>
    public bool IsThrottled(int queue)
    {
        lock (_lock)
            return (uint)queue < (uint)_held.Length && _held[queue] is not null;
    }

    /// <summary>The limiter that meters queue <paramref name="queue"/>, or null (the default) for none. Called under the device lock.</summary>
    protected virtual RateLimiter? LimiterFor(int queue) => null;

    /// <summary>
    /// What a request costs the bandwidth bucket: by default every byte it carries either way. Computed from the
    /// segment lengths fixed when the chain was popped, never from guest memory the guest can still change.
    /// </summary>
    protected virtual ulong ChargedBytes(int queue, DescriptorChain chain) => (ulong)chain.ReadableLength + chain.WritableLength;

    /// <summary>
    /// Answers one well-formed chain and returns the number of bytes written into its writable part (the used
    /// length). Runs under the device lock. Must not throw on anything the guest wrote; return 0 to drop. The chain
    /// object is refilled for the queue's next request, so it must not be kept past the call.
    /// </summary>
    protected abstract uint ProcessChain(int queue, DescriptorChain chain, IGuestMemory memory);

    /// <summary>The device was activated with these negotiated features (under the device lock).</summary>
    protected virtual void OnActivated(ulong features)
    {
    }

    /// <summary>The driver reset the device (under the device lock).</summary>
    protected virtual void OnReset()
    {
    }

    /// <summary>
    /// Runs <paramref name="change"/> under the device lock, so no request is being answered meanwhile, and then,
    /// if a driver is attached, tells it through a configuration-change interrupt (virtio 1.2 §4.1.4.5) that the
    /// configuration structure changed.
    /// </summary>
    protected void ChangeConfiguration(Action change)
    {
        ArgumentNullException.ThrowIfNull(change);
        IVirtioInterrupt? interrupt;
        lock (_lock)
        {
            change();
            interrupt = _activation?.Interrupt;
        }
        interrupt?.SignalConfigurationChange();
    }

    /// <summary>Counts a chain the device chose not to answer.</summary>
    protected void CountDropped() => Interlocked.Increment(ref _droppedChains);

    /// <summary>
    /// Answers every available chain, or stops at one the queue's limiter refuses (held for the retry, with the
    /// wait in <paramref name="retryAfter"/>); returns whether the driver wants an interrupt for those answered.
    /// </summary>
    private bool Drain(int index, IVirtqueue queue, IGuestMemory memory, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var limiter = LimiterFor(index);
        do
        {
            while (NextChain(index, queue) is { } chain)
            {
                if (!chain.IsMalformed && limiter is not null && !limiter.TryConsume(ChargedBytes(index, chain), out retryAfter))
                {
                    _held[index] = chain;
                    return queue.NeedsInterrupt();
                }
                uint used = 0;
                if (chain.IsMalformed)
                    CountDropped();
                else
                    used = ProcessSafely(index, chain, memory);
                queue.AddUsed(chain.HeadIndex, used);
            }
        }
        while (queue.EnableNotification());
        return queue.NeedsInterrupt();
    }

    /// <summary>The held (throttled) chain first, then the ring's next one (in the queue's reused chain, which the held one is too).</summary>
    private DescriptorChain? NextChain(int index, IVirtqueue queue)
    {
        if (_held[index] is { } held)
        {
            _held[index] = null;
            return held;
        }
        var chain = _chains[index];
        return queue.TryPopInto(chain) ? chain : null;
    }

    private uint ProcessSafely(int index, DescriptorChain chain, IGuestMemory memory)
    {
        try
        {
            return ProcessChain(index, chain, memory);
        }
        catch (GuestMemoryException)
        {
            // Segments were checked against RAM; this is a last guard, not a path the guest can choose.
            CountDropped();
            return 0;
        }
    }

    /// <summary>Sets DEVICE_NEEDS_RESET; true the first time, when the driver should hear of it.</summary>
    private bool EnterNeedsReset()
    {
        if (_needsReset)
            return false;
        _needsReset = true;
        return true;
    }
}
