namespace Ember.Devices.Pci;

/// <summary>
/// Lays capabilities out in a function's configuration space and links them (PCI Local Bus 3.0 §6.7):
/// the first one's offset goes into the Capabilities Pointer (0x34), each one's Next byte points at the
/// one after, the last one's Next is 0, and Status bit 4 says the list exists. Capabilities are placed
/// one after another from 0x40, each on a dword boundary (the pointer's two low bits are reserved), and
/// all inside the first 256 bytes, where conventional configuration software looks for them.
/// </summary>
public sealed class PciCapabilityList
{
    /// <summary>A capability's ID and Next bytes, before its body.</summary>
    public const int HeaderLength = 2;

    private readonly PciConfigSpace _space;
    private readonly List<(int Offset, byte Id)> _entries = [];
    private int _nextFree = PciConfigRegisters.HeaderEnd;

    internal PciCapabilityList(PciConfigSpace space) => _space = space;

    /// <summary>The capabilities in list order, with the offset of each one's ID byte.</summary>
    public IReadOnlyList<(int Offset, byte Id)> Entries
    {
        get
        {
            lock (_space.SyncRoot)
                return [.. _entries];
        }
    }

    /// <summary>The offset of the first capability with <paramref name="id"/>, or null.</summary>
    public int? Find(byte id)
    {
        lock (_space.SyncRoot)
        {
            foreach (var (offset, entryId) in _entries)
            {
                if (entryId == id)
                    return offset;
            }
            return null;
        }
    }

    /// <summary>
    /// Appends a capability: <paramref name="body"/> is everything after its ID and Next bytes.
    /// <paramref name="writableBody"/>, if given, has one mask byte per body byte and makes those bits
    /// guest-writable (the rest of the capability is read-only). <paramref name="handler"/>, if given,
    /// sees guest accesses to the capability. Returns the capability's offset.
    /// </summary>
    public int Add(byte id, ReadOnlySpan<byte> body, ReadOnlySpan<byte> writableBody = default, IPciConfigHandler? handler = null)
    {
        if (!writableBody.IsEmpty && writableBody.Length != body.Length)
            throw new ArgumentException($"the write mask has {writableBody.Length} bytes for a {body.Length}-byte body", nameof(writableBody));
        lock (_space.SyncRoot)
        {
            int offset = _nextFree;
            int length = HeaderLength + body.Length;
            if (length > PciConfigRegisters.ConventionalSize - offset)
                throw new InvalidOperationException(
                    $"capability 0x{id:x2} ({length} bytes) does not fit in configuration space below 0x100 (next free 0x{offset:x2})");

            _space.SetByte(offset, id);
            _space.SetByte(offset + 1, 0);
            for (int i = 0; i < body.Length; i++)
                _space.SetByte(offset + HeaderLength + i, body[i]);
            Span<byte> mask = stackalloc byte[length];
            mask.Clear();
            if (!writableBody.IsEmpty)
                writableBody.CopyTo(mask[HeaderLength..]);
            _space.SetWritableMask(offset, mask);

            int link = _entries.Count == 0 ? PciConfigRegisters.CapabilitiesPointer : _entries[^1].Offset + 1;
            _space.SetByte(link, (byte)offset);
            _space.SetUInt16(PciConfigRegisters.Status, (ushort)(_space.Status | PciStatus.CapabilitiesList));
            if (handler is not null)
                _space.AddHandler(offset, length, handler);

            _entries.Add((offset, id));
            _nextFree = (offset + length + 3) & ~3;
            return offset;
        }
    }
}
