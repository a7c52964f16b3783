using Ember.Kvm;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// The one owner of KVM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table, so every
/// writer (the IOAPIC's pins, every MSI/MSI-X vector of every device) changes its own GSIs here and this
/// class submits the merged table; no writer can wipe another's routes. GSIs below
/// <see cref="FirstDynamicGsi"/> belong to the interrupt controller's pins (the IOAPIC's 24); GSIs from
/// there up are handed out to message-signalled vectors by <see cref="AllocateGsi"/>.
/// </summary>
internal sealed class GsiRouteTable
{
    /// <summary>KVM_MAX_IRQ_ROUTES on x86: KVM refuses larger tables and GSIs at or above it.</summary>
    public const uint MaxGsi = 4096;

    private readonly GsiRoutingSubmitter _submit;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<uint, GsiRoutingEntry[]> _routes = [];
    private readonly SortedSet<uint> _freed = [];
    private uint _nextGsi;
    private long _submissions;

    public GsiRouteTable(GsiRoutingSubmitter submit, uint firstDynamicGsi)
    {
        ArgumentNullException.ThrowIfNull(submit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstDynamicGsi, MaxGsi);
        _submit = submit;
        FirstDynamicGsi = firstDynamicGsi;
        _nextGsi = firstDynamicGsi;
    }

    public uint FirstDynamicGsi { get; }

    /// <summary>Tables submitted to KVM so far.</summary>
    public long Submissions => Interlocked.Read(ref _submissions);

    /// <summary>
    /// Replaces the routes of every GSI that appears in <paramref name="entries"/> (a GSI may have several
    /// entries, e.g. a PIC pin and an IOAPIC pin) and submits the merged table once.
    /// </summary>
    public void SetRoutes(ReadOnlySpan<GsiRoutingEntry> entries)
    {
        lock (_gate)
        {
            var byGsi = new Dictionary<uint, List<GsiRoutingEntry>>();
            foreach (var entry in entries)
            {
                if (entry.Gsi >= MaxGsi)
                    throw new ArgumentOutOfRangeException(nameof(entries), $"GSI {entry.Gsi} is beyond KVM's {MaxGsi} routes");
                if (!byGsi.TryGetValue(entry.Gsi, out var list))
                    byGsi[entry.Gsi] = list = [];
                list.Add(entry);
            }
            foreach (var (gsi, list) in byGsi)
                _routes[gsi] = [.. list];
            Submit();
        }
    }

    /// <summary>Routes <paramref name="gsi"/> to an MSI message, replacing what it had.</summary>
    public void SetMsiRoute(uint gsi, ulong address, uint data) => SetRoutes([GsiRoutingEntry.Msi(gsi, address, data)]);

    /// <summary>Removes every route of <paramref name="gsi"/>; an irqfd on it then injects nothing.</summary>
    public void RemoveRoute(uint gsi)
    {
        lock (_gate)
        {
            if (_routes.Remove(gsi))
                Submit();
        }
    }

    /// <summary>A GSI for a message-signalled vector, with no route yet. Throws when KVM's table is full.</summary>
    public uint AllocateGsi()
    {
        lock (_gate)
        {
            if (_freed.Count > 0)
            {
                uint reused = _freed.Min;
                _freed.Remove(reused);
                return reused;
            }
            if (_nextGsi >= MaxGsi)
                throw new InvalidOperationException($"all {MaxGsi - FirstDynamicGsi} GSIs for message-signalled interrupts are in use");
            return _nextGsi++;
        }
    }

    /// <summary>Gives a GSI from <see cref="AllocateGsi"/> back, removing its route.</summary>
    public void FreeGsi(uint gsi)
    {
        lock (_gate)
        {
            if (gsi < FirstDynamicGsi || gsi >= _nextGsi || !_freed.Add(gsi))
                throw new ArgumentException($"GSI {gsi} was not allocated", nameof(gsi));
            if (_routes.Remove(gsi))
                Submit();
        }
    }

    /// <summary>The table as KVM has it now, in GSI order.</summary>
    public GsiRoutingEntry[] Snapshot()
    {
        lock (_gate)
            return [.. _routes.Values.SelectMany(entries => entries)];
    }

    private void Submit()
    {
        var table = _routes.Values.SelectMany(entries => entries).ToArray();
        _submit(table);
        Interlocked.Increment(ref _submissions);
    }
}
