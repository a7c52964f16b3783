using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ember.Memory;

namespace Ember.Devices.Virtio.Queues;

/// <summary>
/// The 16-bit ring fields driver and device hand each other (split avail/used idx, packed descriptor flags and
/// event suppression fields), accessed as single loads and stores with acquire/release semantics so they cannot
/// tear and the ring entries they cover are ordered around them. Every such field is 2-byte aligned inside an area
/// checked to be in RAM, so it never straddles a (page-aligned) region boundary.
/// </summary>
internal static class RingField
{
    /// <summary>One 16-bit load with acquire semantics: later reads of what the field covers are not hoisted above it.</summary>
    public static bool TryLoadAcquire(IGuestMemory memory, GuestAddress area, ulong offset, out ushort value)
    {
        value = 0;
        if (!area.TryAdd(offset, out var address) || !memory.IsValidRange(address, sizeof(ushort)))
            return false;
        try
        {
            var span = memory.GetSpan(address, sizeof(ushort));
            ushort raw = Volatile.Read(ref MemoryMarshal.AsRef<ushort>(span));
            value = BitConverter.IsLittleEndian ? raw : BinaryPrimitives.ReverseEndianness(raw);
            return true;
        }
        catch (GuestMemoryException)
        {
            return false;
        }
    }

    /// <summary>One 16-bit store with release semantics: everything written before it is visible first.</summary>
    public static bool TryStoreRelease(IGuestMemory memory, GuestAddress area, ulong offset, ushort value)
    {
        if (!area.TryAdd(offset, out var address) || !memory.IsValidRange(address, sizeof(ushort)))
            return false;
        try
        {
            var span = memory.GetSpan(address, sizeof(ushort));
            Volatile.Write(ref MemoryMarshal.AsRef<ushort>(span), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));
            return true;
        }
        catch (GuestMemoryException)
        {
            return false;
        }
    }
}
