using System.Buffers.Binary;

namespace Ember.Vmm.Acpi;

/// <summary>Generic Address Structure (ACPI 6.x §5.2.3.2, Table 5.1), 12 bytes.</summary>
/// <param name="AddressSpace">0 system memory, 1 system I/O.</param>
/// <param name="BitWidth">Register width in bits.</param>
/// <param name="BitOffset">Register bit offset.</param>
/// <param name="AccessSize">0 undefined, 1 byte, 2 word, 3 dword, 4 qword.</param>
/// <param name="Address">Register address in the space.</param>
public readonly record struct GenericAddress(byte AddressSpace, byte BitWidth, byte BitOffset, byte AccessSize, ulong Address)
{
    public const int Size = 12;

    public const byte SystemMemory = 0;
    public const byte SystemIo = 1;

    public const byte AccessByte = 1;
    public const byte AccessWord = 2;
    public const byte AccessDword = 3;

    /// <summary>An I/O port register of <paramref name="bitWidth"/> bits accessed in <paramref name="accessSize"/> units.</summary>
    public static GenericAddress Io(ushort port, byte bitWidth, byte accessSize) => new(SystemIo, bitWidth, 0, accessSize, port);

    public void Write(Span<byte> destination)
    {
        destination[0] = AddressSpace;
        destination[1] = BitWidth;
        destination[2] = BitOffset;
        destination[3] = AccessSize;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], Address);
    }
}
