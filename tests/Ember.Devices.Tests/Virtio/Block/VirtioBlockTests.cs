using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>virtio-blk (virtio 1.2 §5.2) against a real temporary file: requests, bounds, and malformed chains.</summary>
public sealed class VirtioBlockTests : IDisposable
{
    private const int Sectors = 600;
    private const byte Untouched = 0xEE;

    private readonly VirtqueueTestDriver _driver = new(size: 64);
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly TemporaryDiskImage _image = new(Sectors * 512);

    public void Dispose() => _image.Dispose();

    private VirtioBlock Start(bool readOnly = false, string serial = "ember-disk-0", IBlockBackend? backend = null,
        ulong features = VirtqueueTestDriver.AllFeatures | BlockFeature.Flush)
    {
        var device = new VirtioBlock(backend ?? new FileBlockBackend(_image.Handle, readOnly), serial, maxQueueSize: 64);
        device.Activate(new VirtioActivation(features, _driver.Memory, [_driver.Layout], _interrupt));
        return device;
    }

    private TestBuffer Header(uint type, ulong sector)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        return _driver.Readable(bytes);
    }

    private TestBuffer Status() => _driver.Writable(1, Untouched);

    private byte StatusOf(TestBuffer status) => _driver.ReadBytes(status.Address, 1)[0];

    /// <summary>Posts the chain, notifies, and returns the used length of this (the latest) request.</summary>
    private uint Run(VirtioBlock device, params TestBuffer[] buffers)
    {
        _driver.Post(buffers);
        device.Notify(0);
        Assert.Equal(_driver.AvailIndex, _driver.UsedIndex);
        return _driver.Used((ushort)(_driver.UsedIndex - 1)).Length;
    }

    [Fact]
    public void OffersWhatItDoesAndDescribesTheDisk()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), maxQueueSize: 128);
        var config = new byte[device.ConfigurationLength];

        device.ReadConfiguration(0, config);

        Assert.Equal(VirtioDeviceType.Block, device.Type);
        Assert.Equal(1, device.QueueCount);
        Assert.Equal(BlockFeature.SegMax | BlockFeature.BlockSize | BlockFeature.Flush | BlockFeature.Discard | BlockFeature.WriteZeroes
            | VirtioQueueDevice.CommonFeatures, device.OfferedFeatures);
        Assert.Equal(60, device.ConfigurationLength);
        Assert.Equal((ulong)Sectors, BinaryPrimitives.ReadUInt64LittleEndian(config));
        Assert.Equal(126u, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(12)));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(20)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(config.AsSpan(8)));
    }

    [Fact]
    public void ConfigurationReadsAtAnOffsetAndIgnoresWrites()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false));
        var capacityLow = new byte[4];

        device.WriteConfiguration(0, [1, 2, 3, 4]);
        device.ReadConfiguration(0, capacityLow);

        // 600 = 0x258, little-endian.
        Assert.Equal([0x58, 0x02, 0, 0], capacityLow);
    }

    [Fact]
    public void ReadOnlyBackendOffersReadOnly()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: true));

        Assert.NotEqual(0UL, device.OfferedFeatures & BlockFeature.ReadOnly);
    }

    [Fact]
    public void CapacityCountsWholeSectorsOnly()
    {
        using var odd = new TemporaryDiskImage(3 * 512 + 100);

        Assert.Equal(3UL, new VirtioBlock(new FileBlockBackend(odd.Handle, readOnly: false)).CapacitySectors);
    }

    [Fact]
    public void InReadsSectorsIntoWritableBuffers()
    {
        var device = Start();
        var first = _driver.Writable(700, Untouched);
        var second = _driver.Writable(324, Untouched);
        var status = Status();

        uint used = Run(device, Header(0, 3), first, second, status);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(1025u, used);
        var data = _driver.ReadBytes(first.Address, 700).Concat(_driver.ReadBytes(second.Address, 324)).ToArray();
        Assert.Equal(TemporaryDiskImage.Pattern(3 * 512, 1024), data);
        Assert.Equal([0], _interrupt.QueueSignals);
    }

    [Fact]
    public void InWithStatusInTheSameBufferAsTheData()
    {
        var device = Start();
        var both = _driver.Writable(513, Untouched);

        uint used = Run(device, Header(0, 0), both);

        Assert.Equal(513u, used);
        Assert.Equal(TemporaryDiskImage.Pattern(0, 512), _driver.ReadBytes(both.Address, 512));
        Assert.Equal((byte)BlockStatus.Ok, _driver.ReadBytes(both.Address + 512, 1)[0]);
    }

    [Fact]
    public void InThroughAnIndirectTable()
    {
        var device = Start();
        var data = _driver.Writable(512, Untouched);
        var status = Status();

        _driver.PostIndirect(Header(0, Sectors - 1), data, status);
        device.Notify(0);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(TemporaryDiskImage.Pattern((Sectors - 1) * 512, 512), _driver.ReadBytes(data.Address, 512));
    }

    [Fact]
    public void OutWritesSectorsToTheFile()
    {
        var device = Start();
        var payload = Enumerable.Range(0, 1024).Select(i => (byte)(i ^ 0x5A)).ToArray();
        var status = Status();

        uint used = Run(device, Header(1, 5), _driver.Readable(payload.AsSpan(0, 600)), _driver.Readable(payload.AsSpan(600)), status);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(1u, used);
        Assert.Equal(payload, _image.ReadBack(5 * 512, 1024));
        // Neighbours are untouched.
        Assert.Equal(TemporaryDiskImage.Pattern(4 * 512, 512), _image.ReadBack(4 * 512, 512));
        Assert.Equal(TemporaryDiskImage.Pattern(7 * 512, 512), _image.ReadBack(7 * 512, 512));
    }

    [Fact]
    public void LargeWriteAndReadMoveThroughTheBounceBufferInChunks()
    {
        var device = Start();
        int length = (VirtioBlock.TransferChunk * 2) + 4096;
        var payload = Enumerable.Range(0, length).Select(i => (byte)((i * 31) >> 3)).ToArray();
        var written = Status();
        Run(device, Header(1, 2), _driver.Readable(payload), written);
        var back = _driver.Writable((uint)length, Untouched);
        var read = Status();

        uint used = Run(device, Header(0, 2), back, read);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(written));
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(read));
        Assert.Equal((uint)length + 1, used);
        Assert.Equal(payload, _driver.ReadBytes(back.Address, length));
        Assert.Equal(payload, _image.ReadBack(2 * 512, length));
    }

    [Fact]
    public void FlushSucceeds()
    {
        var device = Start();
        var status = Status();

        Assert.Equal(1u, Run(device, Header(4, 0), status));
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
    }

    /// <summary>
    /// The durability promise (virtio 1.2 §5.2.6.1: a FLUSH completes after the data is on stable storage): the backend's
    /// flush, fdatasync for a file, runs after the write it covers and before the FLUSH is published in the used ring or
    /// signalled, so a driver that sees it completed can count on the data even if the VMM dies right then.
    /// </summary>
    [Fact]
    public void FlushReachesTheBackendAfterTheWriteAndBeforeItCompletes()
    {
        var backend = new RecordingBlockBackend(8);
        var device = Start(backend: backend);
        var payload = Enumerable.Range(0, 1024).Select(i => (byte)(i * 7 + 1)).ToArray();
        Run(device, Header(1, 2), _driver.Readable(payload), Status());
        ushort usedBeforeFlush = _driver.UsedIndex;
        int signalsBeforeFlush = _interrupt.QueueSignals.Count;
        ushort? usedDuringFlush = null;
        int? signalsDuringFlush = null;
        byte[]? dataDuringFlush = null;
        backend.DuringFlush = () =>
        {
            usedDuringFlush = _driver.UsedIndex;
            signalsDuringFlush = _interrupt.QueueSignals.Count;
            dataDuringFlush = backend.Contents.AsSpan(2 * 512, payload.Length).ToArray();
        };
        var status = Status();

        Run(device, Header(4, 0), status);

        Assert.Equal(["write 1024 1024", "flush"], backend.Calls);
        Assert.Equal(payload, dataDuringFlush);
        Assert.Equal(usedBeforeFlush, usedDuringFlush);
        Assert.Equal(signalsBeforeFlush, signalsDuringFlush);
        Assert.Equal((ushort)(usedBeforeFlush + 1), _driver.UsedIndex);
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
    }

    /// <summary>A flush the backend could not carry out (fdatasync's EIO) is never answered OK: the driver must not count on the data.</summary>
    [Fact]
    public void AFailedFlushIsAnsweredIoError()
    {
        var backend = new RecordingBlockBackend(8) { FailFlushes = true };
        var device = Start(backend: backend);
        var status = Status();

        Run(device, Header(4, 0), status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
        Assert.Equal(0, device.Flushes);
        Assert.Equal(1, device.BackendErrors);
    }

    [Fact]
    public void GetIdReturnsTheSerialPaddedWithNul()
    {
        var device = Start(serial: "ember-disk-0");
        var id = _driver.Writable(20, Untouched);
        var status = Status();

        uint used = Run(device, Header(8, 0), id, status);

        Assert.Equal(21u, used);
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal("ember-disk-0"u8.ToArray().Concat(new byte[8]).ToArray(), _driver.ReadBytes(id.Address, 20));
    }

    [Fact]
    public void GetIdIntoAShortBufferWritesWhatFits()
    {
        var device = Start(serial: "ember-disk-0");
        var id = _driver.Writable(5, Untouched);
        var status = Status();

        uint used = Run(device, Header(8, 0), id, status);

        Assert.Equal(6u, used);
        Assert.Equal("ember"u8.ToArray(), _driver.ReadBytes(id.Address, 5));
    }

    [Theory]
    [InlineData("")]
    [InlineData("01234567890123456789")]
    public void SerialUpTo20CharactersIsAccepted(string serial) =>
        Assert.Equal(0, new VirtioBlock(new FileBlockBackend(_image.Handle, false), serial).DroppedChains);

    [Theory]
    [InlineData("012345678901234567890")]
    [InlineData("tab\there")]
    [InlineData("caf\u00e9")]
    public void SerialTooLongOrNotPrintableAsciiIsRefused(string serial)
    {
        var error = Assert.Throws<ArgumentException>(() => new VirtioBlock(new FileBlockBackend(_image.Handle, false), serial));
        Assert.Contains("serial", error.Message);
    }

    [Theory]
    [InlineData(11u)] // DISCARD: offered, not negotiated here
    [InlineData(13u)] // WRITE_ZEROES: offered, not negotiated here
    [InlineData(0xFFFF_FFFFu)]
    public void OtherRequestTypesAreUnsupported(uint type)
    {
        var device = Start();
        var data = _driver.Writable(512, Untouched);
        var status = Status();

        uint used = Run(device, Header(type, 0), data, status);

        Assert.Equal((byte)BlockStatus.Unsupported, StatusOf(status));
        Assert.Equal(1u, used);
        Assert.Equal(Untouched, _driver.ReadBytes(data.Address, 1)[0]);
    }

    [Fact]
    public void ReadOnlyDiskAnswersOutWithIoErrorAndKeepsTheFile()
    {
        var device = Start(readOnly: true);
        var status = Status();

        Run(device, Header(1, 0), _driver.Readable(new byte[512]), status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
        Assert.Equal(TemporaryDiskImage.Pattern(0, 512), _image.ReadBack(0, 512));
    }

    [Fact]
    public void ReadOnlyDiskStillReadsAndFlushes()
    {
        var device = Start(readOnly: true);
        var data = _driver.Writable(512, Untouched);
        var readStatus = Status();
        var flushStatus = Status();

        Run(device, Header(0, 1), data, readStatus);
        Run(device, Header(4, 0), flushStatus);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(readStatus));
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(flushStatus));
        Assert.Equal(TemporaryDiskImage.Pattern(512, 512), _driver.ReadBytes(data.Address, 512));
    }

    [Theory]
    [InlineData(Sectors, 512u)]          // starts right after the last sector
    [InlineData(Sectors - 1, 1024u)]     // starts inside, runs past the end
    [InlineData(ulong.MaxValue, 512u)]   // sector × 512 would overflow
    [InlineData(ulong.MaxValue / 512, 512u)]
    [InlineData(0x0080_0000_0000_0000UL, 512u)]
    public void TransfersOutsideTheDiskAreIoErrors(ulong sector, uint length)
    {
        var device = Start();
        var data = _driver.Writable(length, Untouched);
        var readStatus = Status();
        var writeStatus = Status();

        uint used = Run(device, Header(0, sector), data, readStatus);
        Run(device, Header(1, sector), _driver.Readable(new byte[length]), writeStatus);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(readStatus));
        Assert.Equal((byte)BlockStatus.IoError, StatusOf(writeStatus));
        Assert.Equal(1u, used);
        Assert.Equal(Untouched, _driver.ReadBytes(data.Address, 1)[0]);
        Assert.Equal(TemporaryDiskImage.Pattern((Sectors - 1) * 512, 512), _image.ReadBack((Sectors - 1) * 512, 512));
    }

    [Fact]
    public void TheLastSectorIsInside()
    {
        var device = Start();
        var status = Status();

        Run(device, Header(1, Sectors - 1), _driver.Readable(new byte[512]), status);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(new byte[512], _image.ReadBack((Sectors - 1) * 512, 512));
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(511u)]
    [InlineData(513u)]
    public void LengthsThatAreNotWholeSectorsAreIoErrors(uint length)
    {
        var device = Start();
        var data = _driver.Writable(length, Untouched);
        var readStatus = Status();
        var writeStatus = Status();

        Run(device, Header(0, 0), data, readStatus);
        Run(device, Header(1, 0), _driver.Readable(new byte[length]), writeStatus);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(readStatus));
        Assert.Equal((byte)BlockStatus.IoError, StatusOf(writeStatus));
        Assert.Equal(Untouched, _driver.ReadBytes(data.Address, 1)[0]);
        Assert.Equal(TemporaryDiskImage.Pattern(0, 512), _image.ReadBack(0, 512));
    }

    [Fact]
    public void WriteWithoutAStatusByteIsDroppedAndNotPerformed()
    {
        var device = Start();

        uint used = Run(device, Header(1, 0), _driver.Readable(new byte[512]));

        Assert.Equal(0u, used);
        Assert.Equal(1, device.DroppedChains);
        Assert.Equal(TemporaryDiskImage.Pattern(0, 512), _image.ReadBack(0, 512));
        Assert.False(device.NeedsReset);
    }

    [Fact]
    public void HeaderShorterThan16BytesIsAnIoError()
    {
        var device = Start();
        var status = Status();

        uint used = Run(device, _driver.Readable(new byte[8]), status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
        Assert.Equal(1u, used);
    }

    [Fact]
    public void HeaderSplitOverTwoBuffersIsFine()
    {
        var device = Start();
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), 2);
        var data = _driver.Writable(512, Untouched);
        var status = Status();

        Run(device, _driver.Readable(header.AsSpan(0, 5)), _driver.Readable(header.AsSpan(5)), data, status);

        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(TemporaryDiskImage.Pattern(1024, 512), _driver.ReadBytes(data.Address, 512));
    }

    [Fact]
    public void OnlyAStatusByteIsAnIoError()
    {
        var device = Start();
        var status = Status();

        Run(device, status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
    }

    [Fact]
    public void MalformedChainIsDroppedAndTheNextRequestServed()
    {
        var device = Start();
        var lateStatus = Status();
        _driver.Post(Header(4, 0), lateStatus, _driver.Readable([1]));
        var status = Status();

        Run(device, Header(4, 0), status);

        Assert.Equal(0u, _driver.Used(0).Length);
        Assert.Equal(Untouched, StatusOf(lateStatus));
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.Equal(1, device.DroppedChains);
    }

    [Fact]
    public void FileShorterThanAtStartUpGivesIoError()
    {
        var device = Start();
        RandomAccess.SetLength(_image.Handle, 512);
        var data = _driver.Writable(512, Untouched);
        var status = Status();

        Run(device, Header(0, 10), data, status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
        Assert.Equal(1, device.BackendErrors);
    }

    [Fact]
    public void BackendFailureIsAnIoError()
    {
        var backend = new RecordingBlockBackend(8) { FailReads = true };
        var device = Start(backend: backend);
        var status = Status();

        Run(device, Header(0, 0), _driver.Writable(512), status);

        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
        Assert.Equal(1, device.BackendErrors);
        Assert.False(device.NeedsReset);
    }

    [Fact]
    public void WithFlushNegotiatedWritesAreNotFlushedOneByOne()
    {
        var backend = new RecordingBlockBackend(8);
        var device = Start(backend: backend);

        Run(device, Header(1, 0), _driver.Readable(new byte[512]), Status());

        Assert.Equal(["write 0 512"], backend.Calls);
    }

    [Fact]
    public void WithoutFlushNegotiatedEveryWriteIsFlushedBeforeItCompletes()
    {
        var backend = new RecordingBlockBackend(8);
        var device = Start(backend: backend, features: VirtqueueTestDriver.AllFeatures);

        Run(device, Header(1, 1), _driver.Readable(new byte[1024]), Status());

        Assert.Equal(["write 512 1024", "flush"], backend.Calls);
    }

    [Fact]
    public void ASwappedBackingFileServesTheNextRequestAndTheDriverIsToldTheNewCapacity()
    {
        var device = Start();
        using var other = new TemporaryDiskImage(40 * 512);
        File.WriteAllBytes(other.Path, Enumerable.Repeat((byte)0x5A, 40 * 512).ToArray());
        var old = device.ReplaceBackend(new FileBlockBackend(other.Handle, readOnly: false));

        Assert.IsType<FileBlockBackend>(old);
        Assert.Equal(40ul, device.CapacitySectors);
        Span<byte> capacity = stackalloc byte[8];
        device.ReadConfiguration(BlockConfigurationLayout.Capacity, capacity);
        Assert.Equal(40ul, BinaryPrimitives.ReadUInt64LittleEndian(capacity));
        Assert.Equal(1, _interrupt.ConfigurationChanges);

        var data = _driver.Writable(512, Untouched);
        var status = Status();
        Run(device, Header(0, 2), data, status);
        Assert.Equal((byte)BlockStatus.Ok, StatusOf(status));
        Assert.All(_driver.ReadBytes(data.Address, 512), b => Assert.Equal(0x5A, b));

        // Sector 100 existed on the old disk, not on the new one.
        status = Status();
        Run(device, Header(0, 100), _driver.Writable(512, Untouched), status);
        Assert.Equal((byte)BlockStatus.IoError, StatusOf(status));
    }

    [Fact]
    public void AReadOnlyDiskCannotBeSwappedForAWritableOne()
    {
        var device = Start(readOnly: true);
        using var other = new TemporaryDiskImage(40 * 512);
        Assert.Throws<ArgumentException>(() => device.ReplaceBackend(new FileBlockBackend(other.Handle, readOnly: false)));
        Assert.Equal((ulong)Sectors, device.CapacitySectors);
        Assert.Equal(0, _interrupt.ConfigurationChanges);
    }
}
