using Ember.Devices.Interrupts;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// Message-signalled vectors where there is no local APIC to take a message (user-space irqchip mode):
/// every vector falls back to the device's INTx wire (its own input on the slot's wire-ORed line, beside the
/// level input the function drives while MSI-X is off) and fires it as an edge through the 8259A. A driver that
/// knows there is no LAPIC (Linux with nolapic has no MSI domain) leaves MSI-X off and uses INTx and ISR. Masked vectors are held back and sent on unmask. Notifiers are
/// eventfds watched by the machine's event loop, which turns each signal into a trigger.
/// </summary>
internal sealed class IntxMsiVectorGroup : IMsiVectorGroup
{
    private readonly IInterruptLine _line;
    private readonly EventFd[] _notifiers;
    private readonly EventSubscription[] _subscriptions;
    private readonly bool[] _masked;
    private readonly bool[] _pending;
    private readonly Lock _gate = new();
    private bool _disposed;

    public IntxMsiVectorGroup(IInterruptLine line, EventLoop loop, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _line = line;
        _notifiers = new EventFd[count];
        _subscriptions = new EventSubscription[count];
        _masked = new bool[count];
        _pending = new bool[count];
        for (int i = 0; i < count; i++)
        {
            int vector = i;
            _masked[i] = true;
            _notifiers[i] = new EventFd();
            _subscriptions[i] = loop.Subscribe(_notifiers[i].Handle, EpollEvents.In, _ =>
            {
                if (_notifiers[vector].Drain() != 0)
                    Trigger(vector);
            });
        }
    }

    public int Count => _notifiers.Length;

    public void Trigger(int vector)
    {
        if ((uint)vector >= (uint)_notifiers.Length)
            return;
        lock (_gate)
        {
            if (_disposed)
                return;
            if (_masked[vector])
            {
                _pending[vector] = true;
                return;
            }
        }
        _line.Pulse();
    }

    public void Update(int vector, MsiMessage message, bool masked)
    {
        if ((uint)vector >= (uint)_notifiers.Length)
            return;
        bool send;
        lock (_gate)
        {
            if (_disposed)
                return;
            _masked[vector] = masked;
            send = !masked && _pending[vector];
            if (send)
                _pending[vector] = false;
        }
        if (send)
            _line.Pulse();
    }

    public EventFd Notifier(int vector) => _notifiers[vector];

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        foreach (var subscription in _subscriptions)
            subscription.Dispose();
        foreach (var notifier in _notifiers)
            notifier.Dispose();
    }
}
