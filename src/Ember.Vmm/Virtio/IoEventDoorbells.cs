using Ember.Devices.Virtio;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Diagnostics;

namespace Ember.Vmm.Virtio;

/// <summary>
/// Queue doorbells as KVM ioeventfds: a guest write at a queue's notify address signals an eventfd inside
/// KVM, with no exit to user space, and the device I/O loop calls the transport's callback. Any write
/// length matches (a zero-length MMIO ioeventfd, KVM_CAP_IOEVENTFD_ANY_LENGTH), so a driver that writes the
/// queue index as a word or a dword rings the same bell. Where KVM refuses, the doorbell is simply not
/// attached and the write exits to the transport's notify region as before. The guest chooses the addresses
/// (it places the BAR) and how often queues are enabled, so the refusal's log line is rate-limited.
/// </summary>
internal sealed class IoEventDoorbells(VirtualMachine vm, EventLoop io, RateLimitedLogger refusals) : IQueueDoorbells
{
    public IDisposable? Attach(ulong address, Action rung)
    {
        ArgumentNullException.ThrowIfNull(rung);
        var eventFd = new EventFd();
        var registration = IoEventRegistration.Mmio(address, 0);
        try
        {
            vm.RegisterIoEvent(eventFd, registration);
        }
        catch (KvmException e)
        {
            if (refusals.TryBegin())
                VmmLog.NoIoEventFd(refusals.Logger, address, e.Message);
            eventFd.Dispose();
            return null;
        }
        var subscription = io.Subscribe(eventFd.Handle, EpollEvents.In, _ =>
        {
            if (eventFd.Drain() > 0)
                rung();
        });
        return new Doorbell(vm, io, eventFd, registration, subscription);
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
