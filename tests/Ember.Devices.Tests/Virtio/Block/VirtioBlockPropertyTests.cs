using System.Buffers.Binary;
using CsCheck;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// Random requests (any type, sector, header length, readable and writable lengths, split into random
/// buffers) against a model of virtio 1.2 §5.2.6: the device never throws, answers every chain once, writes
/// the status the model expects into the last writable byte, reports the model's used length, and changes
/// the disk only for a successful OUT.
/// </summary>
public sealed class VirtioBlockPropertyTests
{
    private const int Sectors = 16;

    private static readonly Gen<uint> TypeGen = Gen.Frequency(
        (4, Gen.Const(0u)), (4, Gen.Const(1u)), (1, Gen.Const(4u)), (1, Gen.Const(8u)), (1, Gen.UInt));

    private static readonly Gen<ulong> SectorGen = Gen.Frequency(
        (6, Gen.ULong[0, Sectors + 2]),
        (1, Gen.Select(Gen.OneOf(ulong.MaxValue, ulong.MaxValue / 512, 1UL << 55), Gen.ULong[0, 3], (edge, d) => edge - d)),
        (1, Gen.ULong));

    private static readonly Gen<int> LengthGen = Gen.Frequency(
        (5, Gen.Int[0, 4].Select(n => n * 512)),
        (3, Gen.Int[0, 4].Select(n => (n * 512) + 1)),
        (2, Gen.Int[0, 2100]));

    private static readonly Gen<Request> RequestGen = Gen.Select(
        TypeGen, SectorGen, Gen.Frequency((8, Gen.Const(16)), (1, Gen.Int[0, 15])), LengthGen, LengthGen,
        Gen.Int[1, 3], Gen.Int[1, 3], Gen.Byte,
        (type, sector, header, payload, writable, readableParts, writableParts, fill) =>
            new Request(type, sector, header, payload, writable, readableParts, writableParts, fill));

    [Fact]
    public void RandomRequestsMatchTheModelAndNeverThrow()
    {
        var outcomes = new HashSet<string>();
        Gen.Select(RequestGen.Array[1, 6], Gen.Bool).Sample((requests, readOnly) =>
        {
            var driver = new VirtqueueTestDriver(size: 32);
            var backend = new RecordingBlockBackend(Sectors, readOnly);
            for (int i = 0; i < backend.Contents.Length; i++)
                backend.Contents[i] = (byte)(i * 13);
            var device = new VirtioBlock(backend, "model", maxQueueSize: 32);
            device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures | BlockFeature.Flush, driver.Memory, [driver.Layout], new RecordingVirtioInterrupt()));

            foreach (var request in requests)
            {
                var before = backend.Contents.ToArray();
                var (bytes, readable, writable) = Build(driver, request);
                if (readable.Length + writable.Length == 0)
                    continue;
                driver.Post([.. readable, .. writable]);
                device.Notify(0);

                Assert.Equal(driver.AvailIndex, driver.UsedIndex);
                var expected = Model(bytes, request.Writable, before, readOnly);
                outcomes.Add(expected.Status is { } seen ? $"{(bytes.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : 99)}:{seen}" : "dropped");
                uint used = driver.Used((ushort)(driver.UsedIndex - 1)).Length;
                Assert.Equal(expected.Used, used);
                var written = writable.SelectMany(b => driver.ReadBytes(b.Address, (int)b.Length)).ToArray();
                if (expected.Status is { } status)
                    Assert.Equal((byte)status, written[^1]);
                if (expected.Data is { } data)
                    Assert.Equal(data, written[..data.Length]);
                Assert.Equal(expected.Disk ?? before, backend.Contents);
            }
            Assert.False(device.NeedsReset);
        }, iter: 400, threads: 1);

        // The generator reaches successful reads and writes, each error and a dropped chain.
        Assert.Superset(new HashSet<string> { "0:Ok", "1:Ok", "0:IoError", "1:IoError", "4:Ok", "8:Ok", "dropped" }, outcomes);
        Assert.Contains(outcomes, o => o.EndsWith(":Unsupported", StringComparison.Ordinal));
    }

    /// <summary>The readable bytes (a header cut to HeaderLength, then the payload) and the buffers holding them.</summary>
    private static (byte[] ReadableBytes, TestBuffer[] Readable, TestBuffer[] Writable) Build(VirtqueueTestDriver driver, Request request)
    {
        var bytes = new byte[request.HeaderLength + request.Payload];
        var header = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(header, request.Type);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), request.Sector);
        header.AsSpan(0, request.HeaderLength).CopyTo(bytes);
        bytes.AsSpan(request.HeaderLength).Fill(request.Fill);
        var readable = Split(bytes.Length, request.ReadableParts)
            .Select(part => driver.Readable(bytes.AsSpan(part.Start, part.Length))).ToArray();
        var writable = Split(request.Writable, request.WritableParts)
            .Select(part => driver.Writable((uint)part.Length, 0xEE)).ToArray();
        return (bytes, readable, writable);
    }

    /// <summary>Cuts <paramref name="length"/> bytes into up to <paramref name="parts"/> non-empty pieces.</summary>
    private static IEnumerable<(int Start, int Length)> Split(int length, int parts)
    {
        int start = 0;
        for (int i = 0; i < parts && start < length; i++)
        {
            int piece = i == parts - 1 ? length - start : Math.Max(1, (length - start) / (parts - i) - i);
            yield return (start, piece);
            start += piece;
        }
    }

    /// <summary>What virtio 1.2 §5.2.6 says the answer is, from the readable bytes and the writable length alone.</summary>
    private static Expected Model(byte[] readable, int writable, byte[] disk, bool readOnly)
    {
        if (writable == 0)
            return new Expected(0, null, null, null);
        int dataCapacity = writable - 1;
        if (readable.Length < 16)
            return new Expected(1, BlockStatus.IoError, null, null);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(readable);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(readable.AsSpan(8));
        var payload = readable.AsSpan(16);
        bool Inside(int length, out int offset)
        {
            offset = 0;
            if (length % 512 != 0 || sector > Sectors || (ulong)(length / 512) > Sectors - sector)
                return false;
            offset = (int)sector * 512;
            return true;
        }
        switch (type)
        {
            case 0:
                if (!Inside(dataCapacity, out int readAt))
                    return new Expected(1, BlockStatus.IoError, null, null);
                return new Expected((uint)writable, BlockStatus.Ok, disk.AsSpan(readAt, dataCapacity).ToArray(), null);
            case 1:
                if (readOnly || !Inside(payload.Length, out int writeAt))
                    return new Expected(1, BlockStatus.IoError, null, null);
                var after = disk.ToArray();
                payload.CopyTo(after.AsSpan(writeAt));
                return new Expected(1, BlockStatus.Ok, null, after);
            case 4:
                return new Expected(1, BlockStatus.Ok, null, null);
            case 8:
                int idLength = Math.Min(20, dataCapacity);
                var id = new byte[20];
                "model"u8.CopyTo(id);
                return new Expected((uint)idLength + 1, BlockStatus.Ok, id[..idLength], null);
            default:
                return new Expected(1, BlockStatus.Unsupported, null, null);
        }
    }

    private sealed record Request(uint Type, ulong Sector, int HeaderLength, int Payload, int Writable, int ReadableParts, int WritableParts, byte Fill);

    private sealed record Expected(uint Used, BlockStatus? Status, byte[]? Data, byte[]? Disk);
}
