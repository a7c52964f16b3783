using Ember.Devices.Interrupts;
using Ember.Kvm;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// The split irqchip's half of the user-space IOAPIC (<see cref="IIoApicDelivery"/>): pin <i>i</i> is
/// GSI <i>i</i>, each GSI has an MSI route built from the pin's redirection entry
/// (<see cref="RedirectionEntry.ToMsi"/>, which carries the trigger mode in data bit 15 so KVM sets the
/// vector in the LAPIC's TMR and exits with KVM_EXIT_IOAPIC_EOI on its EOI), and an irqfd on each GSI
/// fires the route. The routes go through the machine's <see cref="GsiRouteTable"/>, which merges them
/// with every MSI vector's, so a redirection-entry write never wipes a device's routes.
/// </summary>
internal sealed class IoApicMsiRoutes : IIoApicDelivery, IDisposable
{
    private readonly VirtualMachine _vm;
    private readonly GsiRouteTable _table;
    private readonly Lock _routeLock = new();
    private readonly EventFd[] _irqfds = new EventFd[IoApic.PinCount];
    private IoApic? _ioApic;
    private bool _disposed;
    private long _routeUpdates;
    private long _signals;

    public IoApicMsiRoutes(VirtualMachine vm, GsiRouteTable table)
    {
        _vm = vm;
        _table = table;
    }

    /// <summary>KVM_SET_GSI_ROUTING calls made because the guest changed a redirection entry.</summary>
    public long RouteUpdates => Interlocked.Read(ref _routeUpdates);

    /// <summary>Interrupts sent through a pin's irqfd.</summary>
    public long Signals => Interlocked.Read(ref _signals);

    /// <summary>
    /// Installs a route for every pin (from its current, at reset masked, entry) and an irqfd on each GSI.
    /// Needs the split irqchip to be enabled with at least <see cref="IoApic.PinCount"/> reserved routes.
    /// </summary>
    public void Install(IoApic ioApic)
    {
        lock (_routeLock)
        {
            _ioApic = ioApic;
            var routes = new GsiRoutingEntry[IoApic.PinCount];
            for (int pin = 0; pin < IoApic.PinCount; pin++)
                routes[pin] = Route(pin, ioApic.GetEntry(pin));
            _table.SetRoutes(routes);
            for (int pin = 0; pin < IoApic.PinCount; pin++)
            {
                _irqfds[pin] = new EventFd();
                _vm.RegisterIrqFd(_irqfds[pin], (uint)pin);
            }
        }
    }

    public void EntryChanged(int pin, RedirectionEntry entry)
    {
        lock (_routeLock)
        {
            if (_disposed || _ioApic is null || (uint)pin >= IoApic.PinCount)
                return;
            // Two vCPUs may rewrite the same pin at once and their notifications can arrive in either order:
            // build the route from the entry as it is now, so the last table written is always the newest.
            _table.SetRoutes([Route(pin, _ioApic.GetEntry(pin))]);
            Interlocked.Increment(ref _routeUpdates);
        }
    }

    public void Deliver(int pin, RedirectionEntry entry)
    {
        if ((uint)pin >= IoApic.PinCount || Volatile.Read(ref _irqfds[pin]) is not { } irqfd || Volatile.Read(ref _disposed))
            return;
        try
        {
            irqfd.Signal();
            Interlocked.Increment(ref _signals);
        }
        catch (ObjectDisposedException)
        {
            // A device raised its line while the machine was being torn down.
        }
    }

    private static GsiRoutingEntry Route(int pin, RedirectionEntry entry)
    {
        var msi = entry.ToMsi();
        return GsiRoutingEntry.Msi((uint)pin, msi.Address, msi.Data);
    }

    public void Dispose()
    {
        lock (_routeLock)
        {
            _disposed = true;
            foreach (var irqfd in _irqfds)
                irqfd?.Dispose();
        }
    }
}
