using Ember.Devices.Interrupts;
using Ember.Kvm;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// Message-signalled vectors with an in-kernel LAPIC (split and kernel modes): each vector owns a GSI of
/// the machine's <see cref="GsiRouteTable"/>, routed to the message the guest programmed, and an eventfd
/// bound to that GSI with KVM_IRQFD, so a signal reaches the guest with no exit and no VMM thread.
/// A masked vector has its irqfd unbound: signals pile up in the eventfd's counter, and KVM delivers
/// them when the irqfd is bound again on unmask (it checks the eventfd when an irqfd is assigned).
/// </summary>
internal sealed class IrqfdMsiVectorGroup : IMsiVectorGroup
{
    private readonly VirtualMachine _vm;
    private readonly GsiRouteTable _routes;
    private readonly Vector[] _vectors;
    private readonly Lock _gate = new();
    private bool _disposed;

    private sealed class Vector(uint gsi)
    {
        public uint Gsi { get; } = gsi;
        public EventFd Notifier { get; } = new();
        public bool Bound { get; set; }
    }

    public IrqfdMsiVectorGroup(VirtualMachine vm, GsiRouteTable routes, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _vm = vm;
        _routes = routes;
        var vectors = new List<Vector>(count);
        try
        {
            for (int i = 0; i < count; i++)
                vectors.Add(new Vector(routes.AllocateGsi()));
        }
        catch
        {
            foreach (var vector in vectors)
                Release(vector);
            throw;
        }
        _vectors = [.. vectors];
    }

    public int Count => _vectors.Length;

    /// <summary>The GSI behind vector <paramref name="vector"/>, for diagnostics and tests.</summary>
    public uint GsiOf(int vector) => _vectors[vector].Gsi;

    public void Trigger(int vector)
    {
        if ((uint)vector >= (uint)_vectors.Length)
            return;
        try
        {
            _vectors[vector].Notifier.Signal();
        }
        catch (ObjectDisposedException)
        {
            // The machine is being torn down.
        }
    }

    public void Update(int vector, MsiMessage message, bool masked)
    {
        if ((uint)vector >= (uint)_vectors.Length)
            return;
        lock (_gate)
        {
            if (_disposed)
                return;
            var v = _vectors[vector];
            if (masked)
            {
                if (v.Bound)
                {
                    _vm.UnregisterIrqFd(v.Notifier, v.Gsi);
                    v.Bound = false;
                }
                return;
            }
            // The route first, so a signal already counted is delivered to the new message, not the old one.
            _routes.SetMsiRoute(v.Gsi, message.Address, message.Data);
            if (!v.Bound)
            {
                _vm.RegisterIrqFd(v.Notifier, v.Gsi);
                v.Bound = true;
            }
        }
    }

    public EventFd Notifier(int vector) => _vectors[vector].Notifier;

    private void Release(Vector vector)
    {
        try
        {
            if (vector.Bound)
                _vm.UnregisterIrqFd(vector.Notifier, vector.Gsi);
            _routes.FreeGsi(vector.Gsi);
        }
        catch (Exception e) when (e is KvmException or ObjectDisposedException)
        {
            // The VM is already gone; its table and irqfds went with it.
        }
        vector.Notifier.Dispose();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var vector in _vectors)
                Release(vector);
        }
    }
}
