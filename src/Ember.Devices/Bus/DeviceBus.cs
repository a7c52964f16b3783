namespace Ember.Devices.Bus;

/// <summary>
/// An address space (the PIO ports or the MMIO space) with devices registered at
/// non-overlapping ranges. Registration happens while the machine is assembled; lookups
/// happen on every vCPU exit, so they are a binary search over a sorted array with no
/// allocation. Registration swaps in a new array, so a lookup never sees a half-built table.
/// </summary>
public sealed class DeviceBus
{
    private readonly Lock _registrationLock = new();
    private BusEntry[] _entries = [];

    private readonly record struct BusEntry(ulong Base, ulong Length, IBusDevice Device)
    {
        public ulong LastAddress => Base + (Length - 1);
    }

    /// <summary>Registers <paramref name="device"/> at [baseAddress, baseAddress + length).</summary>
    public void Register(ulong baseAddress, ulong length, IBusDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (length == 0)
            throw new BusRangeException($"empty bus range at 0x{baseAddress:x}");
        if (baseAddress + (length - 1) < baseAddress)
            throw new BusRangeException($"bus range 0x{baseAddress:x}+0x{length:x} overflows");
        var entry = new BusEntry(baseAddress, length, device);
        lock (_registrationLock)
        {
            foreach (var existing in _entries)
            {
                if (entry.Base <= existing.LastAddress && existing.Base <= entry.LastAddress)
                    throw new BusRangeException(
                        $"bus range 0x{baseAddress:x}+0x{length:x} overlaps 0x{existing.Base:x}+0x{existing.Length:x}");
            }
            var next = new BusEntry[_entries.Length + 1];
            _entries.CopyTo(next, 0);
            next[^1] = entry;
            Array.Sort(next, static (a, b) => a.Base.CompareTo(b.Base));
            Volatile.Write(ref _entries, next);
        }
    }

    /// <summary>Removes the device registered at exactly <paramref name="baseAddress"/>; false if none.</summary>
    public bool Unregister(ulong baseAddress)
    {
        lock (_registrationLock)
        {
            int index = Array.FindIndex(_entries, e => e.Base == baseAddress);
            if (index < 0)
                return false;
            var next = new BusEntry[_entries.Length - 1];
            Array.Copy(_entries, 0, next, 0, index);
            Array.Copy(_entries, index + 1, next, index, next.Length - index);
            Volatile.Write(ref _entries, next);
            return true;
        }
    }

    /// <summary>
    /// Finds the device covering the whole access [address, address + size). An access that
    /// starts in one device and runs past its end is treated as unclaimed.
    /// </summary>
    public bool TryFind(ulong address, int size, out IBusDevice device, out ulong offset)
    {
        var entries = Volatile.Read(ref _entries);
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly var e = ref entries[mid];
            if (address < e.Base)
                hi = mid - 1;
            else if (address > e.LastAddress)
                lo = mid + 1;
            else
            {
                offset = address - e.Base;
                ulong lastByte = size <= 1 ? 0 : (ulong)(size - 1);
                if (offset + lastByte >= offset && offset + lastByte < e.Length)
                {
                    device = e.Device;
                    return true;
                }
                break;
            }
        }
        device = null!;
        offset = 0;
        return false;
    }

    /// <summary>Reads from whatever device covers the address; unclaimed reads return all ones, as on real buses.</summary>
    public bool Read(ulong address, Span<byte> data)
    {
        if (TryFind(address, data.Length, out var device, out ulong offset))
        {
            data.Clear();
            device.Read(offset, data);
            return true;
        }
        data.Fill(0xFF);
        return false;
    }

    /// <summary>Writes to whatever device covers the address; unclaimed writes are dropped.</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> data)
    {
        if (TryFind(address, data.Length, out var device, out ulong offset))
        {
            device.Write(offset, data);
            return true;
        }
        return false;
    }

    public int Count => Volatile.Read(ref _entries).Length;
}
