using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Queues;
using Ember.Memory;
using CsCheck;
using Xunit;

namespace Ember.Devices.Tests.Virtio;

/// <summary>
/// Whatever the driver writes into the rings, the queue never throws, never takes more than a ring's
/// worth of chains per avail idx, and every chain it returns lies inside RAM with lengths that add up.
/// </summary>
public sealed class SplitVirtqueuePropertyTests
{
    private const ushort Size = 16;

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

    private static readonly Gen<RandomDescriptor> DescriptorGen = Gen.Select(
        AddressGen, LengthGen, Gen.UShort[0, 7], Gen.Frequency((8, Gen.UShort[0, Size + 1]), (1, Gen.UShort)),
        (address, length, flags, next) => new RandomDescriptor(address, length, flags, next));

    private static readonly Gen<RandomRing> RingGen = Gen.Select(
        DescriptorGen.Array[Size],
        Gen.Frequency((8, Gen.UShort[0, Size + 1]), (1, Gen.UShort)).Array[Size],
        Gen.Frequency((6, Gen.UShort[0, Size + 2]), (1, Gen.UShort)),
        Gen.UShort,
        Gen.Int[0, 3],
        (descriptors, avail, availIndex, usedEvent, features) => new RandomRing(descriptors, avail, availIndex, usedEvent, features));

    [Fact]
    public void RandomRingContentsNeverThrowAndYieldOnlyChainsInsideRam()
    {
        var memory = new ArrayGuestMemory(Ram.Select(r => new GuestMemoryRegion(r.Start, r.Size)));
        var driver = new VirtqueueTestDriver(Size, memory);
        int wellFormed = 0, malformed = 0, broken = 0;
        RingGen.Sample(ring =>
        {
            for (int i = 0; i < Size; i++)
            {
                var d = ring.Descriptors[i];
                driver.WriteDescriptor(i, d.Address, d.Length, d.Flags, d.Next);
                driver.WriteUInt16(driver.Layout.DriverArea + SplitRing.AvailRingOffset + (2UL * (ulong)i), ring.Avail[i]);
            }
            // Indirect tables may point into the data area: scribble descriptors there too.
            for (int i = 0; i < Size; i++)
            {
                var d = ring.Descriptors[(i + 5) % Size];
                driver.WriteDescriptor(0x10_0000, i, d.Address, d.Length, d.Flags, d.Next);
            }
            driver.WriteAvailIndexRaw(ring.AvailIndex);
            driver.UsedEvent = ring.UsedEvent;
            ulong features = VirtioFeature.Version1
                | ((ring.Features & 1) != 0 ? VirtioFeature.IndirectDescriptors : 0)
                | ((ring.Features & 2) != 0 ? VirtioFeature.EventIndex : 0);
            var queue = new SplitVirtqueue(driver.Layout, memory, features);

            int popped = 0;
            do
            {
                while (queue.TryPop(out var chain))
                {
                    popped++;
                    Assert.True(popped <= Size, "more chains than one ring's worth");
                    Assert.True(chain.HeadIndex < Size);
                    CheckChain(chain, memory);
                    if (chain.IsMalformed)
                        malformed++;
                    else
                        wellFormed++;
                    queue.AddUsed(chain.HeadIndex, chain.WritableLength);
                }
                queue.NeedsInterrupt();
            }
            while (queue.EnableNotification());

            bool tooFarAhead = ring.AvailIndex > Size;
            Assert.Equal(tooFarAhead, queue.Fault == QueueFault.AvailIndexTooFarAhead);
            if (queue.IsBroken)
                broken++;
            else
                Assert.Equal(ring.AvailIndex, popped);
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
        // Copying the whole chain works and moves exactly the counted bytes.
        var reader = new DescriptorChainReader(chain, memory);
        Assert.Equal(chain.ReadableLength, reader.Skip(uint.MaxValue));
        var writer = new DescriptorChainWriter(chain, memory, limit: 64);
        Assert.Equal((int)Math.Min(64, chain.WritableLength), writer.Write(new byte[64]));
    }

    private readonly record struct RandomDescriptor(ulong Address, uint Length, ushort Flags, ushort Next);

    private sealed record RandomRing(RandomDescriptor[] Descriptors, ushort[] Avail, ushort AvailIndex, ushort UsedEvent, int Features);
}
