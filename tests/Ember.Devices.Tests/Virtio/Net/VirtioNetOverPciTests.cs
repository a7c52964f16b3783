using System.Buffers.Binary;
using Ember.Devices.Pci;
using Ember.Devices.Tests.Pci;
using Ember.Devices.Tests.Fakes;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Transport;
using Ember.Sys;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// virtio-net behind the modern virtio-pci transport, driven as Linux's virtio_pci and virtio_net do it (virtio 1.2
/// §3.1.1, §4.1.4): identity, features, both queues, the MAC in the device configuration, a transmit through the
/// notify region and a receive signalled on INTx (MSI-X left off).
/// </summary>
public sealed class VirtioNetOverPciTests
{
    private const ulong BarAddress = 0xC100_0000;
    private readonly NetTestRig _rig = new();
    private readonly FakeNetBackend _backend = new();
    private readonly RecordingInterruptLine _intx = new();
    private readonly VirtioNet _device;
    private readonly VirtioPciFunction _function;

    public VirtioNetOverPciTests()
    {
        _device = new VirtioNet(_backend, MacAddress.Parse("02:12:34:56:78:9a"));
        _function = new VirtioPciFunction(_device, _rig.Memory, count => new RecordingMsiVectorGroup(count), _intx);
        _function.Configuration.SetBarAddress(0, BarAddress);
        _function.Configuration.GuestWrite16(PciConfigRegisters.Command, (ushort)PciCommand.MemorySpace);
    }

    private ulong ReadBar(ulong offset, int width)
    {
        Span<byte> data = stackalloc byte[8];
        _function.BarRegion(0)!.Read(offset, data[..width]);
        return BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    private void WriteBar(ulong offset, int width, ulong value)
    {
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        _function.BarRegion(0)!.Write(offset, data[..width]);
    }

    private void WriteCommon(uint offset, int width, ulong value) => WriteBar(VirtioPciLayout.CommonOffset + offset, width, value);

    private ulong ReadCommon(uint offset, int width) => ReadBar(VirtioPciLayout.CommonOffset + offset, width);

    private void SetUpQueue(ushort index, VirtqueueLayout layout)
    {
        WriteCommon(0x16, 2, index);
        WriteCommon(0x18, 2, layout.Size);
        WriteCommon(0x20, 8, layout.DescriptorArea);
        WriteCommon(0x28, 8, layout.DriverArea);
        WriteCommon(0x30, 8, layout.DeviceArea);
        WriteCommon(0x1C, 2, 1);
    }

    /// <summary>ACKNOWLEDGE, DRIVER, every offered feature but RING_PACKED (the rig builds split rings), FEATURES_OK, both queues, DRIVER_OK; returns what was offered.</summary>
    private ulong BringUp()
    {
        WriteCommon(0x14, 1, 1);
        WriteCommon(0x14, 1, 3);
        WriteCommon(0x00, 4, 0);
        ulong offered = ReadCommon(0x04, 4);
        WriteCommon(0x00, 4, 1);
        offered |= ReadCommon(0x04, 4) << 32;
        ulong accepted = offered & ~VirtioFeature.RingPacked;
        WriteCommon(0x08, 4, 0);
        WriteCommon(0x0C, 4, (uint)accepted);
        WriteCommon(0x08, 4, 1);
        WriteCommon(0x0C, 4, accepted >> 32);
        WriteCommon(0x14, 1, 3 | 8);
        Assert.Equal(3UL | 8, ReadCommon(0x14, 1));
        SetUpQueue(VirtioNet.ReceiveQueue, _rig.Receive.Layout);
        SetUpQueue(VirtioNet.TransmitQueue, _rig.Transmit.Layout);
        WriteCommon(0x14, 1, 0x0F);
        return offered;
    }

    [Fact]
    public void ItIsAVirtioNetworkFunctionWithTwoQueuesAndTheMacInItsConfiguration()
    {
        var config = _function.Configuration;
        Assert.Equal(0x1041, config.GuestRead16(PciConfigRegisters.DeviceId));
        Assert.Equal(0x02, config.GuestRead8(PciConfigRegisters.BaseClass));
        Assert.Equal(2UL, ReadCommon(0x12, 2));

        var mac = new byte[6];
        for (int i = 0; i < 6; i++)
            mac[i] = (byte)ReadBar(VirtioPciLayout.DeviceOffset + (ulong)i, 1);
        Assert.Equal(new byte[] { 0x02, 0x12, 0x34, 0x56, 0x78, 0x9a }, mac);
        Assert.Equal(NetConfigurationLayout.StatusLinkUp, ReadBar(VirtioPciLayout.DeviceOffset + NetConfigurationLayout.Status, 2));
    }

    [Fact]
    public void FramesGoOutThroughTheNotifyRegionAndComeInWithAnInterrupt()
    {
        var rxBuffer = _rig.Receive.Writable(2048);
        _rig.Receive.Post(rxBuffer);
        ulong offered = BringUp();
        Assert.Equal(_device.OfferedFeatures, offered);
        Assert.Equal(offered & ~VirtioFeature.RingPacked, _device.NegotiatedFeatures);
        Assert.Equal(TapOffload.Checksum | TapOffload.Tso4 | TapOffload.Tso6, _backend.Offloads[^1]);
        Assert.Equal(NetReadiness.Readable, _backend.Watching);

        var outgoing = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60));
        _rig.Transmit.Post(_rig.Transmit.Readable(outgoing));
        // Queue 1's notification: notify_off 1 × notify_off_multiplier 4.
        WriteBar(VirtioPciLayout.NotifyOffset + (ulong)ReadQueueNotifyOffset(VirtioNet.TransmitQueue) * VirtioPciLayout.NotifyOffMultiplier, 2, VirtioNet.TransmitQueue);

        Assert.Equal(outgoing, Assert.Single(_backend.Sent));
        Assert.Equal(1, _rig.Transmit.UsedIndex);

        int edges = _intx.RisingEdges;
        var incoming = NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(100));
        _backend.Incoming.Enqueue(incoming);
        // Reading the ISR acknowledges the transmit interrupt and lowers the line.
        ReadBar(VirtioPciLayout.IsrOffset, 1);
        _device.OnBackendReady(NetReadiness.Readable);

        Assert.Equal(1, _rig.Receive.UsedIndex);
        Assert.Equal((uint)incoming.Length, _rig.Receive.Used(0).Length);
        Assert.True(_intx.RisingEdges > edges, "the receive raised INTx");
        Assert.Equal(1UL, ReadBar(VirtioPciLayout.IsrOffset, 1) & 1);
    }

    private ushort ReadQueueNotifyOffset(ushort queue)
    {
        WriteCommon(0x16, 2, queue);
        return (ushort)ReadCommon(0x1E, 2);
    }
}
