using System.Buffers.Binary;
using System.Text;

namespace Ember.Vmm.Acpi;

/// <summary>
/// A hand assembler for the small subset of AML (ACPI 6.x §20 "ACPI Machine Language
/// Specification") the DSDT needs: names, integers, strings, packages, buffers, scopes and
/// devices. Each method returns the encoded term; compose them by nesting.
/// </summary>
public static class Aml
{
    // Opcodes (§20.2.5 and §20.3).
    public const byte ZeroOp = 0x00;
    public const byte OneOp = 0x01;
    public const byte NameOp = 0x08;
    public const byte BytePrefix = 0x0A;
    public const byte WordPrefix = 0x0B;
    public const byte DWordPrefix = 0x0C;
    public const byte StringPrefix = 0x0D;
    public const byte QWordPrefix = 0x0E;
    public const byte ScopeOp = 0x10;
    public const byte BufferOp = 0x11;
    public const byte PackageOp = 0x12;
    public const byte DualNamePrefix = 0x2E;
    public const byte MultiNamePrefix = 0x2F;
    public const byte ExtOpPrefix = 0x5B;
    public const byte DeviceOp = 0x82;   // follows ExtOpPrefix
    public const byte RootChar = 0x5C;   // '\'

    private const int NameSegLength = 4;

    /// <summary>
    /// PkgLength (§20.2.4) for <paramref name="contentLength"/> bytes that follow it. The encoded
    /// value counts the PkgLength bytes themselves; one byte holds up to 63, otherwise the lead
    /// byte carries the low nibble and the count (1-3) of following bytes.
    /// </summary>
    public static byte[] PkgLength(int contentLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(contentLength);
        if (contentLength + 1 <= 0x3F)
        {
            return [(byte)(contentLength + 1)];
        }
        for (int extra = 1; extra <= 3; extra++)
        {
            int total = contentLength + 1 + extra;
            if (total < 1 << (4 + 8 * extra))
            {
                var bytes = new byte[1 + extra];
                bytes[0] = (byte)((extra << 6) | (total & 0xF));
                for (int i = 1; i <= extra; i++)
                {
                    bytes[i] = (byte)(total >> (4 + 8 * (i - 1)));
                }
                return bytes;
            }
        }
        throw new ArgumentOutOfRangeException(nameof(contentLength), contentLength, "AML package too large");
    }

    /// <summary>
    /// A NameString (§20.2.2): optional leading '\' (root), then dot-separated segments of up to
    /// four characters ([A-Z_][A-Z0-9_]*), each padded with '_' to four.
    /// </summary>
    public static byte[] NameString(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var result = new List<byte>();
        string rest = path;
        if (rest[0] == '\\')
        {
            result.Add(RootChar);
            rest = rest[1..];
        }
        string[] segments = rest.Split('.');
        if (segments.Length == 2)
        {
            result.Add(DualNamePrefix);
        }
        else if (segments.Length > 2)
        {
            result.Add(MultiNamePrefix);
            result.Add((byte)segments.Length);
        }
        foreach (string segment in segments)
        {
            result.AddRange(NameSeg(segment));
        }
        return [.. result];
    }

    private static byte[] NameSeg(string segment)
    {
        if (segment.Length is 0 or > NameSegLength
            || !(segment[0] is (>= 'A' and <= 'Z') or '_')
            || !segment.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'))
        {
            throw new ArgumentException($"\"{segment}\" is not a valid AML name segment", nameof(segment));
        }
        return Encoding.ASCII.GetBytes(segment.PadRight(NameSegLength, '_'));
    }

    /// <summary>The shortest integer encoding (§20.2.3): Zero, One, or Byte/Word/DWord/QWord constant.</summary>
    public static byte[] Integer(ulong value)
    {
        if (value == 0) return [ZeroOp];
        if (value == 1) return [OneOp];
        if (value <= byte.MaxValue) return [BytePrefix, (byte)value];
        if (value <= ushort.MaxValue)
        {
            var word = new byte[3];
            word[0] = WordPrefix;
            BinaryPrimitives.WriteUInt16LittleEndian(word.AsSpan(1), (ushort)value);
            return word;
        }
        if (value <= uint.MaxValue) return DWord((uint)value);
        var qword = new byte[9];
        qword[0] = QWordPrefix;
        BinaryPrimitives.WriteUInt64LittleEndian(qword.AsSpan(1), value);
        return qword;
    }

    /// <summary>A DWordConst, whatever the value (EISA IDs are always encoded as dwords).</summary>
    public static byte[] DWord(uint value)
    {
        var bytes = new byte[5];
        bytes[0] = DWordPrefix;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(1), value);
        return bytes;
    }

    /// <summary>A String (ASCII, NUL-terminated).</summary>
    public static byte[] String(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.All(c => c is >= (char)0x01 and <= (char)0x7F))
        {
            throw new ArgumentException("AML strings are ASCII without NUL", nameof(text));
        }
        return [StringPrefix, .. Encoding.ASCII.GetBytes(text), 0];
    }

    /// <summary>Name(name, value) (§20.2.5.1 DefName).</summary>
    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameString(name), .. value];

    /// <summary>Package(){elements} (§20.2.5.4 DefPackage); NumElements = the element count.</summary>
    public static byte[] Package(params byte[][] elements)
    {
        if (elements.Length > byte.MaxValue)
        {
            throw new ArgumentException("a Package holds at most 255 elements", nameof(elements));
        }
        byte[] body = [(byte)elements.Length, .. elements.SelectMany(e => e)];
        return [PackageOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary>Buffer(){data} (§20.2.5.4 DefBuffer) with its size as the BufferSize term.</summary>
    public static byte[] Buffer(ReadOnlySpan<byte> data)
    {
        byte[] body = [.. Integer((ulong)data.Length), .. data];
        return [BufferOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary>Scope(name){terms} (§20.2.5.1 DefScope).</summary>
    public static byte[] Scope(string name, params byte[][] terms)
    {
        byte[] body = [.. NameString(name), .. terms.SelectMany(t => t)];
        return [ScopeOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary>Device(name){terms} (§20.2.5.2 DefDevice).</summary>
    public static byte[] Device(string name, params byte[][] terms)
    {
        byte[] body = [.. NameString(name), .. terms.SelectMany(t => t)];
        return [ExtOpPrefix, DeviceOp, .. PkgLength(body.Length), .. body];
    }

    /// <summary>
    /// The 32-bit compressed EISA ID of a PNP ID such as "PNP0501" (ACPI 6.x §6.1.5 _HID): three
    /// uppercase letters as 5-bit values (A = 1) and four hex digits, stored big-endian byte by byte.
    /// </summary>
    public static uint EisaId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length != 7 || !id[..3].All(c => c is >= 'A' and <= 'Z') || !id[3..].All(Uri.IsHexDigit))
        {
            throw new ArgumentException($"\"{id}\" is not an EISA ID (three letters, four hex digits)", nameof(id));
        }
        int vendor = ((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40);
        int product = Convert.ToInt32(id[3..], 16);
        Span<byte> bytes = [(byte)(vendor >> 8), (byte)vendor, (byte)(product >> 8), (byte)product];
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }
}
