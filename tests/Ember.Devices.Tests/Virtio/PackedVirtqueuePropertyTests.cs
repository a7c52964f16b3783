using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using CsCheck;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// Whatever the driver writes into a packed ring (any size, any flags, ids and buffers), the queue never throws,
/// never holds more descriptors than the ring, hands out only ids below the size, and every chain it returns lies
/// inside RAM with lengths that add up.
/// </summary>
public sealed class PackedVirtqueuePropertyTests
{
    private const ushort MaxSize = 16;

    /// <summary>RAM as two contiguous regions (a boundary to cross) plus a lone page behind a hole.</summary>
    private static readonly (GuestAddress Start, ulong Size)[] Ram =
    [
        (GuestAddress.Zero, 0x20_0000),
        (new GuestAddress(0x20_0000), 0x20_0000),
        (new GuestAddress(0x50_0000), 0x1000),
    ];

    private static readonly ulong[] Edges = [0, 0x10_0000, 0x20_0000, 0x40_0000, 0x50_0000, 0x50_1000, ulong.MaxValue];

    private static readonly Gen<ulong> AddressGen = Gen.Frequency(
        (5, Gen.Select(Gen.OneOf(Edges), Gen.Int[-0x40, 0x40], (edge, delta) => unchecked(edge + (ulong)(long)delta))),
        (4, Gen.ULong[0x10_0000, 0x10_1000]),
        (1, Gen.ULong));

    private static readonly Gen<uint> LengthGen = Gen.Frequency(
        (6, Gen.UInt[0, 0x100]),
        (2, Gen.Select(Gen.UInt[1, 20], n => n * 16)),
        (1, Gen.UInt[0x8000_0000, uint.MaxValue]),
        (1, Gen.UInt));

    /// <summary>Mostly "available under wrap counter 1" (AVAIL set, USED clear), but every combination happens.</summary>
    private static readonly Gen<ushort> FlagsGen = Gen.Select(
        Gen.UShort[0, 7],
        Gen.Frequency((8, Gen.Const((ushort)0x0080)), (1, Gen.Const((ushort)0)), (1, Gen.Const((ushort)0x8000)), (1, Gen.Const((ushort)0x8080))),
        (low, wrapBits) => (ushort)(low | wrapBits));

    private static readonly Gen<RandomDescriptor> DescriptorGen = Gen.Select(
        AddressGen, LengthGen, Gen.Frequency((8, Gen.UShort[0, MaxSize + 1]), (1, Gen.UShort)), FlagsGen,
        (address, length, id, flags) => new RandomDescriptor(address, length, id, flags));

    private static readonly Gen<RandomRing> RingGen = Gen.Select(
        Gen.UShort[1, MaxSize],
        DescriptorGen.Array[MaxSize],
        Gen.UShort[0, 3],
        Gen.UShort,
        Gen.Int[0, 3],
        (size, descriptors, eventFlags, offWrap, features) => new RandomRing(size, descriptors, eventFlags, offWrap, features));

    [Fact]
    public void RandomRingContentsNeverThrowAndYieldOnlyChainsInsideRam()
    {
        var memory = new ArrayGuestMemory(Ram.Select(r => new GuestMemoryRegion(r.Start, r.Size)));
        int wellFormed = 0, malformed = 0, broken = 0;
        RingGen.Sample(ring =>
        {
            var driver = new PackedQueueTestDriver(ring.Size, memory);
            for (ushort i = 0; i < ring.Size; i++)
            {
                var d = ring.Descriptors[i];
                driver.WriteRingDescriptor(i, d.Address, d.Length, d.Id, d.Flags);
                // Indirect tables may point into the data area: scribble descriptors there too.
                var t = ring.Descriptors[(i + 5) % MaxSize];
                driver.WriteDescriptor(0x10_0000 + (16UL * i), t.Address, t.Length, t.Id, t.Flags);
            }
            driver.SetDriverEvent(ring.EventFlags, (ushort)(ring.OffWrap & 0x7FFF), (ring.OffWrap & 0x8000) != 0);
            ulong features = VirtioFeature.Version1 | VirtioFeature.RingPacked
                | ((ring.Features & 1) != 0 ? VirtioFeature.IndirectDescriptors : 0)
                | ((ring.Features & 2) != 0 ? VirtioFeature.EventIndex : 0);
            var queue = new PackedVirtqueue(driver.Layout, memory, features, MaxSize);

            int popped = 0;
            var held = new List<DescriptorChain>();
            do
            {
                while (queue.TryPop(out var chain))
                {
                    popped++;
                    Assert.True(popped <= 2 * ring.Size, "the device went round the ring more than twice");
                    Assert.True(chain.HeadIndex < ring.Size);
                    Assert.True(queue.OutstandingDescriptors <= ring.Size);
                    CheckChain(chain, memory);
                    if (chain.IsMalformed)
                        malformed++;
                    else
                        wellFormed++;
                    // Hold every other chain a while, so outstanding buffers and out-of-order use both happen.
                    held.Add(chain);
                    if (held.Count == 2)
                    {
                        queue.AddUsed(held[1].HeadIndex, held[1].WritableLength);
                        queue.AddUsed(held[0].HeadIndex, 0);
                        held.Clear();
                    }
                }
                queue.NeedsInterrupt();
            }
            while (queue.EnableNotification());
            if (held.Count == 1)
                queue.AddUsed(held[0].HeadIndex, 0);
            if (queue.IsBroken)
                broken++;
            else
                Assert.Equal(0, queue.OutstandingDescriptors);
        }, iter: 3000, threads: 1);

        // The generator reaches all three outcomes, so the checks above saw each of them.
        Assert.True(wellFormed > 0 && malformed > 0 && broken > 0, $"well-formed {wellFormed}, malformed {malformed}, broken {broken}");
    }

    private static void CheckChain(DescriptorChain chain, IGuestMemory memory)
    {
        if (chain.IsMalformed)
        {
            Assert.Empty(chain.Segments);
            return;
        }
        ulong readable = 0;
        ulong writable = 0;
        for (int i = 0; i < chain.Segments.Count; i++)
        {
            var segment = chain.Segments[i];
            Assert.True(memory.IsValidRange(segment.Address, segment.Length));
            Assert.Equal(i >= chain.ReadableCount, segment.IsDeviceWritable);
            if (segment.IsDeviceWritable)
                writable += segment.Length;
            else
                readable += segment.Length;
        }
        Assert.Equal(readable, chain.ReadableLength);
        Assert.Equal(writable, chain.WritableLength);
        Assert.True(readable + writable <= uint.MaxValue);
    }

    private readonly record struct RandomDescriptor(ulong Address, uint Length, ushort Id, ushort Flags);

    private sealed record RandomRing(ushort Size, RandomDescriptor[] Descriptors, ushort EventFlags, ushort OffWrap, int Features);
}
