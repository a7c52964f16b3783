using System.Buffers.Binary;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.Memory;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Block;

/// <summary>
/// Data moves between the file and guest RAM in place, a span per segment and memory region: a buffer that straddles
/// two contiguous regions must arrive whole and exact both ways, and a buffer moves as one backend call per region.
/// </summary>
public sealed class VirtioBlockInPlaceTransferTests : IDisposable
{
    private const ulong Boundary = 0x20_0000;
    private readonly VirtqueueTestDriver _driver = new(64, ArrayGuestMemory.Create((GuestAddress.Zero, Boundary), (new GuestAddress(Boundary), VirtqueueTestDriver.RamSize - Boundary)));
    private readonly RecordingVirtioInterrupt _interrupt = new();
    private readonly TemporaryDiskImage _image = new(512 * 512);

    public void Dispose() => _image.Dispose();

    private TestBuffer Header(uint type, ulong sector)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sector);
        return _driver.Readable(bytes);
    }

    /// <summary>A writable buffer of <paramref name="length"/> bytes whose first <paramref name="before"/> bytes lie below the region boundary.</summary>
    private TestBuffer Straddling(uint length, uint before)
    {
        ulong next = _driver.Allocate(0);
        _driver.Allocate((uint)(Boundary - before - next - 16));
        var buffer = _driver.Writable(length, 0xEE);
        Assert.Equal(Boundary - before, buffer.Address);
        return buffer;
    }

    private uint Run(VirtioBlock device, params TestBuffer[] buffers)
    {
        _driver.Post(buffers);
        device.Notify(0);
        Assert.Equal(_driver.AvailIndex, _driver.UsedIndex);
        return _driver.Used((ushort)(_driver.UsedIndex - 1)).Length;
    }

    [Fact]
    public void ABufferAcrossTwoRegionsIsReadAndWrittenWhole()
    {
        var device = new VirtioBlock(new FileBlockBackend(_image.Handle, readOnly: false), maxQueueSize: 64);
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures | BlockFeature.Flush, _driver.Memory, [_driver.Layout], _interrupt));
        const int length = 12 * 512;
        var back = Straddling(length, 5 * 512 + 16);
        var readStatus = _driver.Writable(1, 0xEE);

        uint used = Run(device, Header(0, 3), back, readStatus);

        Assert.Equal(0, _driver.ReadBytes(readStatus.Address, 1)[0]);
        Assert.Equal((uint)length + 1, used);
        Assert.Equal(TemporaryDiskImage.Pattern(3 * 512, length), _driver.ReadBytes(back.Address, length));

        // The same straddling buffer, changed, written to sector 100.
        var payload = Enumerable.Range(0, length).Select(i => (byte)(i * 13 + 1)).ToArray();
        _driver.Memory.Write(new GuestAddress(back.Address), payload);
        var writeStatus = _driver.Writable(1, 0xEE);
        Run(device, Header(1, 100), back with { Writable = false }, writeStatus);

        Assert.Equal(0, _driver.ReadBytes(writeStatus.Address, 1)[0]);
        Assert.Equal(payload, _image.ReadBack(100 * 512, length));
        Assert.Equal(TemporaryDiskImage.Pattern(99 * 512, 512), _image.ReadBack(99 * 512, 512));
        Assert.Equal(TemporaryDiskImage.Pattern(112 * 512, 512), _image.ReadBack(112 * 512, 512));
    }

    [Fact]
    public void EachRegionsPartOfABufferIsOneBackendCall()
    {
        var backend = new RecordingBlockBackend(1024);
        var device = new VirtioBlock(backend, maxQueueSize: 64);
        device.Activate(new VirtioActivation(VirtqueueTestDriver.AllFeatures | BlockFeature.Flush, _driver.Memory, [_driver.Layout], _interrupt));
        // 256 KiB, four times the bounce buffer, with 1 KiB of it below the boundary.
        var back = Straddling(256 * 1024, 1024);

        Run(device, Header(0, 2), back, _driver.Writable(1, 0xEE));
        Run(device, Header(1, 2), back with { Writable = false }, _driver.Writable(1, 0xEE));

        Assert.Equal(["read 1024 1024", $"read 2048 {(256 * 1024) - 1024}", "write 1024 1024", $"write 2048 {(256 * 1024) - 1024}"], backend.Calls);
    }
}
