using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Sys;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// VIRTIO_BLK_T_DISCARD and VIRTIO_BLK_T_WRITE_ZEROES (virtio 1.2 §5.2.6) against real temporary files: holes punched
/// (the range reads zero and the file's blocks go back to the file system), ranges zeroed in place, the fallback to
/// writing zeroes where the file system cannot zero a range (tmpfs), and every hostile segment refused whole.
/// </summary>
public sealed class VirtioBlockDiscardTests : IDisposable
{
    private const int Sectors = 2048;   // 1 MiB
    private const byte Untouched = 0xEE;
    private const uint Discard = 11, WriteZeroes = 13;
    private const ulong Negotiated = VirtqueueTestDriver.AllFeatures | BlockFeature.Flush | BlockFeature.Discard | BlockFeature.WriteZeroes;

    private readonly VirtqueueTestDriver _driver = new(size: 64);
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly List<TemporaryDiskImage> _images = [];

    public void Dispose()
    {
        foreach (var image in _images)
            image.Dispose();
    }

    private TemporaryDiskImage Image(string? directory = null)
    {
        var image = new TemporaryDiskImage(Sectors * 512, directory);
        // Written through the file system and flushed, so every block is allocated before a test frees some.
        RandomAccess.FlushToDisk(image.Handle);
        _images.Add(image);
        return image;
    }

    private VirtioBlock Start(IBlockBackend backend, ulong features = Negotiated)
    {
        var device = new VirtioBlock(backend, "disk", maxQueueSize: 64);
        device.Activate(new VirtioActivation(features, _driver.Memory, [_driver.Layout], _interrupt));
        return device;
    }

    private TestBuffer Header(uint type)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        return _driver.Readable(bytes);
    }

    private static byte[] Segments(params (ulong Sector, uint Sectors, uint Flags)[] segments)
    {
        var bytes = new byte[segments.Length * 16];
        for (int i = 0; i < segments.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 16), segments[i].Sector);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 16 + 8), segments[i].Sectors);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 16 + 12), segments[i].Flags);
        }
        return bytes;
    }

    /// <summary>Sends one request whose data is <paramref name="data"/>; returns its status byte.</summary>
    private BlockStatus Send(VirtioBlock device, uint type, byte[] data)
    {
        var status = _driver.Writable(1, Untouched);
        if (data.Length == 0)
            _driver.Post(Header(type), status);
        else
            _driver.Post(Header(type), _driver.Readable(data), status);
        device.Notify(0);
        Assert.Equal(_driver.AvailIndex, _driver.UsedIndex);
        // Only the status byte is written, whatever the request.
        Assert.Equal(1u, _driver.Used((ushort)(_driver.UsedIndex - 1)).Length);
        return (BlockStatus)_driver.ReadBytes(status.Address, 1)[0];
    }

    private static void AssertPattern(TemporaryDiskImage image, long sector, int sectors) =>
        Assert.Equal(TemporaryDiskImage.Pattern(sector * 512, sectors * 512), image.ReadBack(sector * 512, sectors * 512));

    private static void AssertZero(TemporaryDiskImage image, long sector, int sectors) =>
        Assert.True(image.ReadBack(sector * 512, sectors * 512).All(b => b == 0), $"sectors {sector}..{sector + sectors - 1} do not read as zeroes");

    /// <summary>Whether the file system under <paramref name="image"/> can punch holes (probed on a file of its own).</summary>
    private static bool CanPunchHoles(TemporaryDiskImage image)
    {
        using var probe = new TemporaryDiskImage(8192, Path.GetDirectoryName(image.Path));
        return FileSpace.TryPunchHole(probe.Handle, 0, 4096);
    }

    [Fact]
    public void AWritableDiskOffersBothAndDescribesTheirLimits()
    {
        var device = new VirtioBlock(new FileBlockBackend(Image().Handle, readOnly: false));
        var config = new byte[device.ConfigurationLength];
        device.ReadConfiguration(0, config);

        Assert.NotEqual(0UL, device.OfferedFeatures & BlockFeature.Discard);
        Assert.NotEqual(0UL, device.OfferedFeatures & BlockFeature.WriteZeroes);
        Assert.Equal(VirtioBlock.MaxDiscardSectors, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(36)));
        Assert.Equal((uint)VirtioBlock.MaxRangeSegments, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(40)));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(44)));
        Assert.Equal(VirtioBlock.MaxWriteZeroesSectors, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(48)));
        Assert.Equal((uint)VirtioBlock.MaxRangeSegments, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(52)));
        Assert.Equal(1, config[56]);
        Assert.Equal(new byte[3], config[57..60]);
    }

    [Fact]
    public void AReadOnlyDiskOffersNeitherAndRefusesThemAnyway()
    {
        var image = Image();
        var device = new VirtioBlock(new FileBlockBackend(image.Handle, readOnly: true));
        var config = new byte[device.ConfigurationLength];
        device.ReadConfiguration(0, config);

        Assert.Equal(0UL, device.OfferedFeatures & (BlockFeature.Discard | BlockFeature.WriteZeroes));
        Assert.All(config[36..60], b => Assert.Equal(0, b));
        // A driver that accepts them anyway gets nothing: they were never offered, so never negotiated.
        device.Activate(new VirtioActivation(Negotiated, _driver.Memory, [_driver.Layout], _interrupt));
        Assert.Equal(BlockStatus.Unsupported, Send(device, Discard, Segments((0, 8, 0))));
        Assert.Equal(BlockStatus.Unsupported, Send(device, WriteZeroes, Segments((0, 8, 0))));
        AssertPattern(image, 0, 8);
    }

    [Fact]
    public void DiscardPunchesAHoleThatReadsZeroAndGivesTheBlocksBack()
    {
        var image = Image();
        var backend = new FileBlockBackend(image.Handle, readOnly: false);
        var device = Start(backend);
        long before = FileSpace.AllocatedBytes(image.Handle);

        // 256 KiB from 64 KiB on: whole 4 KiB blocks.
        Assert.Equal(BlockStatus.Ok, Send(device, Discard, Segments((128, 512, 0))));

        AssertZero(image, 128, 512);
        AssertPattern(image, 0, 128);
        AssertPattern(image, 640, Sectors - 640);
        Assert.Equal((long)Sectors * 512, new FileInfo(image.Path).Length);
        Assert.Equal(1, device.Discards);
        if (!CanPunchHoles(image))
            Assert.Skip($"the file system under {image.Path} cannot punch holes; the data check above still ran");
        long after = FileSpace.AllocatedBytes(image.Handle);
        Assert.True(before - after >= 256 * 1024, $"the discard freed {before - after} bytes, not 256 KiB (allocated {before} → {after})");
    }

    [Fact]
    public void WriteZeroesZeroesTheRangeInPlace()
    {
        var image = Image();
        var backend = new FileBlockBackend(image.Handle, readOnly: false);
        var device = Start(backend);

        // Not block-aligned: 3 sectors from sector 5, and a second segment.
        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((5, 3, 0), (1000, 100, 0))));

        AssertPattern(image, 0, 5);
        AssertZero(image, 5, 3);
        AssertPattern(image, 8, 992);
        AssertZero(image, 1000, 100);
        AssertPattern(image, 1100, Sectors - 1100);
        Assert.Equal(1, device.ZeroWrites);
    }

    [Fact]
    public void WriteZeroesWithUnmapMayFreeTheBlocks()
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));
        long before = FileSpace.AllocatedBytes(image.Handle);

        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((256, 1024, 1))));

        AssertZero(image, 256, 1024);
        AssertPattern(image, 0, 256);
        AssertPattern(image, 1280, Sectors - 1280);
        if (!CanPunchHoles(image))
            Assert.Skip($"the file system under {image.Path} cannot punch holes; the data check above still ran");
        Assert.True(before - FileSpace.AllocatedBytes(image.Handle) >= 512 * 1024, "an unmapping write-zeroes of 512 KiB freed less than that");
    }

    [Fact]
    public void WhereTheFileSystemCannotZeroARangeTheZeroesAreWritten()
    {
        // tmpfs punches holes but has no FALLOC_FL_ZERO_RANGE: it answers EOPNOTSUPP.
        const string shm = "/dev/shm";
        Assert.SkipUnless(Directory.Exists(shm), "no /dev/shm (tmpfs) on this host");
        var image = Image(shm);
        Assert.SkipWhen(FileSpace.TryZeroRange(image.Handle, 0, 512), "the file system under /dev/shm zeroes ranges itself; there is nothing to fall back from");
        RandomAccess.Write(image.Handle, TemporaryDiskImage.Pattern(0, 512), 0);
        var backend = new FileBlockBackend(image.Handle, readOnly: false);
        var device = Start(backend);

        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((10, 300, 0))));

        AssertZero(image, 10, 300);
        AssertPattern(image, 0, 10);
        AssertPattern(image, 310, 100);
        Assert.Equal(300 * 512, backend.ZeroBytesWritten);
    }

    [Fact]
    public void OnAFileSystemThatZeroesRangesNothingIsWrittenByHand()
    {
        var image = Image();
        Assert.SkipUnless(FileSpace.TryZeroRange(image.Handle, 0, 512), $"the file system under {image.Path} cannot zero ranges");
        var backend = new FileBlockBackend(image.Handle, readOnly: false);
        var device = Start(backend);

        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((10, 300, 0))));

        AssertZero(image, 10, 300);
        Assert.Equal(0, backend.ZeroBytesWritten);
    }

    [Fact]
    public void ThirtyTwoSegmentsAreServedAndThirtyThreeAreRefusedWhole()
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));
        var most = Enumerable.Range(0, VirtioBlock.MaxRangeSegments).Select(i => ((ulong)(i * 16), 8u, 0u)).ToArray();
        var tooMany = Enumerable.Range(0, VirtioBlock.MaxRangeSegments + 1).Select(i => ((ulong)(1024 + i * 16), 8u, 0u)).ToArray();

        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments(most)));
        Assert.Equal(BlockStatus.IoError, Send(device, WriteZeroes, Segments(tooMany)));
        Assert.Equal(BlockStatus.IoError, Send(device, Discard, Segments(tooMany)));

        AssertZero(image, 0, 8);
        AssertPattern(image, 8, 8);
        AssertZero(image, 31 * 16, 8);
        AssertPattern(image, 1024, Sectors - 1024);
    }

    [Theory]
    [InlineData(Discard, 1u)]                 // unmap is for write-zeroes only (§5.2.6.2)
    [InlineData(Discard, 2u)]
    [InlineData(WriteZeroes, 2u)]
    [InlineData(WriteZeroes, 3u)]
    [InlineData(WriteZeroes, 0x8000_0000u)]
    public void AnUnknownFlagIsUnsupportedAndChangesNothing(uint type, uint flags)
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));

        // A good segment first: the request is refused as a whole, not after doing part of it.
        Assert.Equal(BlockStatus.Unsupported, Send(device, type, Segments((0, 8, 0), (100, 8, flags))));

        AssertPattern(image, 0, 8);
        AssertPattern(image, 100, 8);
        Assert.Equal(0, device.Discards + device.ZeroWrites);
    }

    [Fact]
    public void AnUnknownFlagWinsOverARangeOutsideTheDisk()
    {
        var device = Start(new FileBlockBackend(Image().Handle, readOnly: false));

        Assert.Equal(BlockStatus.Unsupported, Send(device, WriteZeroes, Segments((ulong.MaxValue, 8, 0), (0, 8, 4))));
    }

    [Theory]
    [InlineData(Sectors, 1u)]                         // starts right after the last sector
    [InlineData(Sectors - 8, 9u)]                     // runs one sector past the end
    [InlineData(ulong.MaxValue, 1u)]                  // × 512 would overflow
    [InlineData(ulong.MaxValue / 512, 1u)]
    [InlineData(1UL, uint.MaxValue)]                  // sector + count overflows 32 bits, and more than the maximum
    public void ARangeOutsideTheDiskIsAnIoErrorAndChangesNothing(ulong sector, uint sectors)
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));

        Assert.Equal(BlockStatus.IoError, Send(device, Discard, Segments((0, 8, 0), (sector, sectors, 0))));
        Assert.Equal(BlockStatus.IoError, Send(device, WriteZeroes, Segments((0, 8, 0), (sector, sectors, 0))));

        AssertPattern(image, 0, 8);
        AssertPattern(image, Sectors - 16, 16);
    }

    [Fact]
    public void TheLastSectorsAreInside()
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));

        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((Sectors - 8, 8, 0))));
        Assert.Equal(BlockStatus.Ok, Send(device, Discard, Segments((Sectors, 0, 0))));

        AssertZero(image, Sectors - 8, 8);
    }

    [Fact]
    public void ASegmentLongerThanTheMaximumIsAnIoError()
    {
        using var big = new TemporaryDiskImage(0);
        RandomAccess.SetLength(big.Handle, (long)(VirtioBlock.MaxWriteZeroesSectors + 16) * 512);
        var device = Start(new FileBlockBackend(big.Handle, readOnly: false));

        Assert.Equal(BlockStatus.IoError, Send(device, WriteZeroes, Segments((0, VirtioBlock.MaxWriteZeroesSectors + 1, 0))));
        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((0, VirtioBlock.MaxWriteZeroesSectors, 0))));
        // Discards may be longer.
        Assert.Equal(BlockStatus.Ok, Send(device, Discard, Segments((0, VirtioBlock.MaxWriteZeroesSectors + 16, 0))));
        Assert.Equal(1, device.ZeroWrites);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(17)]
    [InlineData(31)]
    public void DataThatIsNotWholeSegmentsIsAnIoError(int length)
    {
        var backend = new RecordingBlockBackend(64);
        var device = Start(backend);

        Assert.Equal(BlockStatus.IoError, Send(device, Discard, new byte[length]));
        Assert.Equal(BlockStatus.IoError, Send(device, WriteZeroes, new byte[length]));
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public void SegmentsInADeviceWritableBufferAreAnIoError()
    {
        var backend = new RecordingBlockBackend(64);
        var device = Start(backend);
        var status = _driver.Writable(1, Untouched);

        _driver.Post(Header(WriteZeroes), _driver.Writable(16, 0), status);
        device.Notify(0);

        Assert.Equal((byte)BlockStatus.IoError, _driver.ReadBytes(status.Address, 1)[0]);
        Assert.Empty(backend.Calls);
    }

    [Fact]
    public void TheBackendSeesByteRangesAndTheUnmapFlag()
    {
        var backend = new RecordingBlockBackend(64);
        var device = Start(backend);

        Send(device, Discard, Segments((2, 4, 0)));
        Send(device, WriteZeroes, Segments((8, 1, 1), (9, 2, 0)));

        Assert.Equal(["discard 1024 2048", "zeroes 4096 512 unmap", "zeroes 4608 1024"], backend.Calls);
    }

    [Fact]
    public void WithoutFlushNegotiatedBothAreFlushedBeforeTheyComplete()
    {
        var backend = new RecordingBlockBackend(64);
        var device = Start(backend, Negotiated & ~BlockFeature.Flush);

        Send(device, Discard, Segments((0, 1, 0)));
        Send(device, WriteZeroes, Segments((0, 1, 0)));

        Assert.Equal(["discard 0 512", "flush", "zeroes 0 512", "flush"], backend.Calls);
    }

    [Fact]
    public void ARefusedRequestFailsOnlyItselfAndTheNextOneIsServed()
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false));

        Assert.Equal(BlockStatus.IoError, Send(device, WriteZeroes, new byte[5]));
        Assert.Equal(BlockStatus.Unsupported, Send(device, Discard, Segments((0, 1, 1))));
        Assert.Equal(BlockStatus.Ok, Send(device, WriteZeroes, Segments((40, 2, 0))));

        AssertZero(image, 40, 2);
        Assert.Equal(0, device.DroppedChains);
        Assert.False(device.NeedsReset);
    }

    [Fact]
    public void OnlyNegotiatedTypesAreServed()
    {
        var image = Image();
        var device = Start(new FileBlockBackend(image.Handle, readOnly: false), Negotiated & ~BlockFeature.WriteZeroes);

        Assert.Equal(BlockStatus.Unsupported, Send(device, WriteZeroes, Segments((0, 8, 0))));
        Assert.Equal(BlockStatus.Ok, Send(device, Discard, Segments((0, 8, 0))));
        AssertPattern(image, 8, 8);
    }
}
