using CsCheck;

namespace Ember.Memory.Tests;

/// <summary>
/// Random accesses (biased towards region edges, holes and the top of the address space)
/// must behave identically on both implementations, agree with a brute-force model of
/// which bytes are RAM, and never throw anything but <see cref="GuestMemoryException"/>.
/// </summary>
public sealed class GuestMemoryPropertyTests
{
    private const ulong TopPageStart = 0xFFFF_FFFF_FFFF_D000;

    /// <summary>Contiguous pair, hole, lone page, another hole, and the top two pages of the 64-bit space.</summary>
    private static readonly (GuestAddress Start, ulong Size)[] Layout =
    [
        (GuestAddress.Zero, 0x2000),
        (new GuestAddress(0x2000), 0x1000),
        (new GuestAddress(0x5000), 0x1000),
        (new GuestAddress(TopPageStart), 0x2000),
    ];

    /// <summary>Every region start and end: where off-by-one bugs live.</summary>
    private static readonly ulong[] Edges = [0x0, 0x2000, 0x3000, 0x5000, 0x6000, TopPageStart, TopPageStart + 0x2000, ulong.MaxValue];

    private static readonly Gen<ulong> AddressGen = Gen.Frequency(
        (6, Gen.Select(Gen.OneOf(Edges), Gen.Int[-0x40, 0x40], (edge, delta) => unchecked(edge + (ulong)(long)delta))),
        (3, Gen.ULong[0, 0x7000]),
        (1, Gen.ULong));

    private static readonly Gen<ulong> LengthGen = Gen.Frequency(
        (6, Gen.ULong[0, 0x80]),
        (3, Gen.ULong[0, 0x3100]),
        (1, Gen.ULong));

    private static readonly Gen<MemoryOperation> OperationGen = Gen.Select(
        Gen.Enum<OperationKind>(), AddressGen, LengthGen, Gen.Byte,
        (kind, address, length, fill) => new MemoryOperation(kind, address, length, fill));

    [Fact]
    public void ArrayAndMmapImplementationsAgreeOnRandomAccesses()
    {
        OperationGen.Array[1, 40].Sample(operations =>
        {
            var array = ArrayGuestMemory.Create(Layout);
            using var mmap = MmapGuestMemory.Create(Layout);
            foreach (var operation in operations)
            {
                var expected = Apply(array, operation);
                var actual = Apply(mmap, operation);
                Assert.Equal(expected.Outcome, actual.Outcome);
                Assert.Equal(expected.Data, actual.Data);
            }
            foreach (var region in array.Regions)
            {
                var left = new byte[region.Size];
                var right = new byte[region.Size];
                array.Read(region.Start, left);
                mmap.Read(region.Start, right);
                Assert.Equal(left, right);
            }
        }, iter: 500, threads: 1);
    }

    [Fact]
    public void IsValidRangeMatchesByteByByteModel()
    {
        var memory = ArrayGuestMemory.Create(Layout);
        Gen.Select(AddressGen, Gen.ULong[0, 0x3100]).Sample((address, length) =>
        {
            Assert.Equal(ModelIsValid(address, length), memory.IsValidRange(new GuestAddress(address), length));
        }, iter: 2000);
    }

    /// <summary>Valid iff every byte of the range exists (no wrap past 2^64) and lies in some region.</summary>
    private static bool ModelIsValid(ulong address, ulong length)
    {
        for (ulong i = 0; i < length; i++)
        {
            if (address + i < address)
            {
                return false;
            }
            ulong a = address + i;
            if (!Layout.Any(r => a >= r.Start.Value && a - r.Start.Value < r.Size))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Runs one access; the outcome names the result or the GuestMemoryException, nothing else is caught.</summary>
    private static (string Outcome, byte[] Data) Apply(IGuestMemory memory, MemoryOperation operation)
    {
        var address = new GuestAddress(operation.Address);
        try
        {
            switch (operation.Kind)
            {
                case OperationKind.IsValidRange:
                    return (memory.IsValidRange(address, operation.Length).ToString(), []);
                case OperationKind.TryRead:
                {
                    var buffer = FilledBuffer(operation);
                    bool ok = memory.TryRead(address, buffer);
                    if (!ok)
                    {
                        // A failed TryRead must leave the destination as it was.
                        Assert.Equal(FilledBuffer(operation), buffer);
                    }
                    return (ok.ToString(), buffer);
                }
                case OperationKind.Read:
                {
                    var buffer = FilledBuffer(operation);
                    memory.Read(address, buffer);
                    return ("read", buffer);
                }
                case OperationKind.TryWrite:
                    return (memory.TryWrite(address, FilledBuffer(operation)).ToString(), []);
                case OperationKind.Write:
                    memory.Write(address, FilledBuffer(operation));
                    return ("written", []);
                case OperationKind.GetSpan:
                {
                    var span = memory.GetSpan(address, operation.BufferLength);
                    var before = span.ToArray();
                    span.Fill(operation.Fill);
                    return ("span", before);
                }
                case OperationKind.ReadObject:
                    return (memory.ReadObject<ulong>(address).ToString("x"), []);
                case OperationKind.WriteObject:
                    memory.WriteObject(address, (uint)(operation.Fill * 0x01010101u));
                    return ("object written", []);
                default:
                    throw new ArgumentOutOfRangeException(nameof(operation));
            }
        }
        catch (GuestMemoryException)
        {
            return (nameof(GuestMemoryException), []);
        }
    }

    private static byte[] FilledBuffer(MemoryOperation operation)
    {
        var buffer = new byte[operation.BufferLength];
        Array.Fill(buffer, operation.Fill);
        return buffer;
    }
}
