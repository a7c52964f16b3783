using Ember.Devices.Virtio;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Diagnostics;

namespace Ember.Vmm.Virtio;

/// <summary>
/// Queue doorbells as KVM ioeventfds: a guest write at a queue's notify address signals an eventfd inside
/// KVM, with no exit to user space, and the device I/O loop calls the transport's callback. Where KVM has
/// KVM_CAP_IOEVENTFD_ANY_LENGTH, any write length matches (a zero-length MMIO ioeventfd), so a driver that
/// writes the queue index as a word or a dword rings the same bell. Without it, each bell is a 2-byte ioeventfd
/// with datamatch = the queue index, exactly what a virtio-pci driver writes there (virtio 1.2 §4.1.5.2: a 16-bit
/// queue index, each queue at its own address); another write exits and reaches the transport's notify region,
/// which serves it as before. Where KVM refuses even that, the doorbell is not attached and every write exits.
/// The guest chooses the addresses (it places the BAR) and how often queues are enabled, so the refusal's log
/// line is rate-limited.
/// </summary>
internal sealed class IoEventDoorbells : IQueueDoorbells
{
    /// <summary>What a virtio-pci driver writes at a notify address: the 16-bit queue index.</summary>
    private const uint NotifyWriteLength = 2;

    private readonly VirtualMachine _vm;
    private readonly EventLoop _io;
    private readonly RateLimitedLogger _refusals;

    /// <param name="anyLength">Zero-length (any write) ioeventfds; false for the 2-byte datamatch fallback; null decides by KVM_CAP_IOEVENTFD_ANY_LENGTH.</param>
    public IoEventDoorbells(VirtualMachine vm, EventLoop io, RateLimitedLogger refusals, bool? anyLength = null)
    {
        _vm = vm;
        _io = io;
        _refusals = refusals;
        MatchesAnyLength = anyLength ?? vm.HasCapability(KvmCapability.IoEventFdAnyLength);
    }

    /// <summary>True for zero-length ioeventfds, false for 2-byte ones matching the queue index.</summary>
    public bool MatchesAnyLength { get; }

    public IDisposable? Attach(ulong address, ushort queueIndex, Action rung)
    {
        ArgumentNullException.ThrowIfNull(rung);
        var eventFd = new EventFd();
        var registration = MatchesAnyLength
            ? IoEventRegistration.Mmio(address, 0)
            : IoEventRegistration.Mmio(address, NotifyWriteLength, datamatch: queueIndex);
        try
        {
            _vm.RegisterIoEvent(eventFd, registration);
        }
        catch (KvmException e)
        {
            if (_refusals.TryBegin())
                VmmLog.NoIoEventFd(_refusals.Logger, address, e.Message);
            eventFd.Dispose();
            return null;
        }
        var subscription = _io.Subscribe(eventFd.Handle, EpollEvents.In, _ =>
        {
            if (eventFd.Drain() > 0)
                rung();
        });
        return new Doorbell(_vm, _io, eventFd, registration, subscription);
    }

    private sealed class Doorbell(VirtualMachine vm, EventLoop io, EventFd eventFd, IoEventRegistration registration, EventSubscription subscription) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            io.Unsubscribe(subscription);
            try
            {
                vm.UnregisterIoEvent(eventFd, registration);
            }
            catch (KvmException)
            {
                // The VM is going away, or the address was never live: nothing is left to deassign.
            }
            eventFd.Dispose();
        }
    }
}
