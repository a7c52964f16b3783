namespace Ember.Vmm.Debugging;

/// <summary>
/// The four x86 debug-register slots (DR0–DR3 with their DR7 fields, Intel SDM vol. 3B, §18.2) shared by hardware
/// breakpoints and watchpoints. A watched range that is not one aligned 1, 2, 4 or 8-byte unit is split into aligned
/// units, one slot each, and a request gets all the slots it needs or none. Read watchpoints use the read/write type,
/// the closest x86 has (it has no read-only data breakpoint), and are reported as reads.
/// Pure bookkeeping: the machine side copies <see cref="Dr7"/> and the addresses into KVM_SET_GUEST_DEBUG.
/// </summary>
internal sealed class DebugRegisterSlots
{
    public const int Count = 4;

    /// <summary>DR7 bit 10 reads as 1; GE (bit 9) asks for exact data breakpoint matching on the processors that need it.</summary>
    private const ulong Dr7Fixed = 0x400 | 0x200;

    private readonly Slot?[] _slots = new Slot?[Count];
    private int _nextRequest;

    /// <summary>One slot in use: the unit it watches and the GDB request (type, start, length) it belongs to.</summary>
    private sealed record Slot(int Request, GdbBreakpointType Type, ulong RequestAddress, ulong RequestLength, ulong Address, int Length);

    public bool IsEmpty => _slots.All(s => s is null);

    /// <summary>Takes slots for one Z0..Z4 request; false (nothing taken) if they are not free or the length is not 1..32.</summary>
    public bool TryInsert(GdbBreakpointType type, ulong address, ulong length)
    {
        List<(ulong Address, int Length)>? units = IsExecute(type) ? [(address, 1)] : Split(address, length);
        if (units is null || units.Count > _slots.Count(s => s is null))
            return false;
        int request = ++_nextRequest;
        foreach (var (unitAddress, unitLength) in units)
        {
            int free = Array.FindIndex(_slots, s => s is null);
            _slots[free] = new Slot(request, type, address, length, unitAddress, unitLength);
        }
        return true;
    }

    /// <summary>Frees the slots of one request with this type, start and length; false if there is none.</summary>
    public bool Remove(GdbBreakpointType type, ulong address, ulong length)
    {
        var match = _slots.FirstOrDefault(s => s is not null && s.Type == type && s.RequestAddress == address
            && (IsExecute(type) || s.RequestLength == length));
        if (match is null)
            return false;
        for (int i = 0; i < Count; i++)
        {
            if (_slots[i]?.Request == match.Request)
                _slots[i] = null;
        }
        return true;
    }

    public void Clear() => Array.Clear(_slots);

    /// <summary>Execute breakpoints: Z1, and Z0 where software breakpoints are kept in debug registers.</summary>
    private static bool IsExecute(GdbBreakpointType type) => type is GdbBreakpointType.Hardware or GdbBreakpointType.Software;

    /// <summary>DR0–DR3 as they should be loaded (0 for a free slot).</summary>
    public ulong Address(int slot) => _slots[slot]?.Address ?? 0;

    /// <summary>DR7 for the slots in use: local enable, type (RW) and length (LEN) per slot.</summary>
    public ulong Dr7
    {
        get
        {
            ulong dr7 = 0;
            for (int i = 0; i < Count; i++)
            {
                if (_slots[i] is not { } slot)
                    continue;
                ulong rw = slot.Type switch
                {
                    GdbBreakpointType.Hardware or GdbBreakpointType.Software => 0b00,
                    GdbBreakpointType.WriteWatchpoint => 0b01,
                    _ => 0b11,
                };
                ulong len = slot.Length switch { 1 => 0b00, 2 => 0b01, 8 => 0b10, _ => 0b11 };
                dr7 |= 1UL << (2 * i);
                dr7 |= rw << (16 + 4 * i);
                dr7 |= len << (18 + 4 * i);
            }
            return dr7 == 0 ? 0 : dr7 | Dr7Fixed;
        }
    }

    /// <summary>
    /// What fired, from DR6's B0–B3 (the first slot in use whose bit is set): the request's type and start address.
    /// Null when no slot in use is named.
    /// </summary>
    public (GdbBreakpointType Type, ulong Address)? Hit(ulong dr6)
    {
        for (int i = 0; i < Count; i++)
        {
            if ((dr6 >> i & 1) != 0 && _slots[i] is { } slot)
                return (slot.Type, slot.RequestAddress);
        }
        return null;
    }

    /// <summary>Aligned 1/2/4/8-byte units covering [address, address + length); null for an empty, huge or wrapping range.</summary>
    private static List<(ulong Address, int Length)>? Split(ulong address, ulong length)
    {
        if (length is 0 or > 8 * Count || address + length - 1 < address)
            return null;
        var units = new List<(ulong, int)>();
        while (length > 0)
        {
            int size = 8;
            while (size > 1 && ((address & (ulong)(size - 1)) != 0 || (ulong)size > length))
                size /= 2;
            units.Add((address, size));
            address += (ulong)size;
            length -= (ulong)size;
        }
        return units;
    }
}
