using System.Buffers.Binary;
using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Net;
using Ember.Devices.Virtio.Queues;
using Ember.Sys;
using Xunit;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>virtio-net's identity, configuration structure (virtio 1.2 §5.1.4), feature negotiation and lifecycle.</summary>
public sealed class VirtioNetConfigurationTests
{
    private static readonly MacAddress GuestMac = MacAddress.Parse("02:ab:cd:00:00:01");
    private readonly NetTestRig _rig = new();
    private readonly FakeNetBackend _backend = new();

    [Fact]
    public void DescribesItselfAsANetworkDeviceWithOneQueuePair()
    {
        var device = new VirtioNet(_backend, GuestMac);

        Assert.Equal(VirtioDeviceType.Network, device.Type);
        Assert.Equal(2, device.QueueCount);
        Assert.Equal(VirtioNet.DefaultQueueSize, device.MaxQueueSize);
        Assert.Equal(NetConfigurationLayout.Length, device.ConfigurationLength);
        ulong expected = NetFeature.Checksum | NetFeature.GuestChecksum | NetFeature.Mac | NetFeature.GuestTso4 | NetFeature.GuestTso6
            | NetFeature.HostTso4 | NetFeature.HostTso6 | NetFeature.MergeableReceiveBuffers | NetFeature.Status
            | VirtioFeature.Version1 | VirtioFeature.EventIndex | VirtioFeature.IndirectDescriptors | VirtioFeature.RingPacked;
        Assert.Equal(expected, device.OfferedFeatures);
    }

    [Fact]
    public void WithoutAnAddressMacIsNotOfferedAndTheFieldIsZero()
    {
        var device = new VirtioNet(_backend);

        Assert.Equal(0UL, device.OfferedFeatures & NetFeature.Mac);
        Assert.Null(device.Mac);
        var configuration = new byte[NetConfigurationLayout.Length];
        device.ReadConfiguration(0, configuration);
        Assert.Equal(new byte[6], configuration[..6]);
    }

    [Fact]
    public void TheConfigurationHoldsTheMacTheLinkUpAndOnePair()
    {
        var device = new VirtioNet(_backend, GuestMac);
        var configuration = new byte[NetConfigurationLayout.Length];

        device.ReadConfiguration(0, configuration);

        Assert.Equal(new byte[] { 0x02, 0xab, 0xcd, 0x00, 0x00, 0x01 }, configuration[..6]);
        Assert.Equal(NetConfigurationLayout.StatusLinkUp, BinaryPrimitives.ReadUInt16LittleEndian(configuration.AsSpan(6)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(configuration.AsSpan(8)));
        // A field read alone, as Linux reads status: two bytes at offset 6.
        var status = new byte[2];
        device.ReadConfiguration(NetConfigurationLayout.Status, status);
        Assert.Equal([1, 0], status);
    }

    [Fact]
    public void ConfigurationWritesAreDropped()
    {
        var device = new VirtioNet(_backend, GuestMac);

        device.WriteConfiguration(0, [0x04, 0x00, 0x00, 0x00, 0x00, 0x09]);
        device.WriteConfiguration(NetConfigurationLayout.Status, [0, 0]);

        var configuration = new byte[NetConfigurationLayout.Length];
        device.ReadConfiguration(0, configuration);
        Assert.Equal(GuestMac.ToArray(), configuration[..6]);
        Assert.Equal(1, configuration[6]);
    }

    [Fact]
    public void AReadPastTheEndReadsZeros()
    {
        var device = new VirtioNet(_backend, GuestMac);
        var data = new byte[] { 0xAA, 0xAA, 0xAA, 0xAA };

        device.ReadConfiguration(8, data);

        Assert.Equal([1, 0, 0, 0], data);
    }

    [Theory]
    [InlineData(0UL, TapOffload.None)]
    [InlineData(NetFeature.GuestChecksum, TapOffload.Checksum)]
    [InlineData(NetFeature.GuestChecksum | NetFeature.GuestTso4, TapOffload.Checksum | TapOffload.Tso4)]
    [InlineData(NetFeature.GuestChecksum | NetFeature.GuestTso4 | NetFeature.GuestTso6, TapOffload.Checksum | TapOffload.Tso4 | TapOffload.Tso6)]
    // TSO without GUEST_CSUM breaks a dependency of §5.1.3.1: no offload at all.
    [InlineData(NetFeature.GuestTso4 | NetFeature.GuestTso6, TapOffload.None)]
    // Transmit offloads say nothing about what the guest takes.
    [InlineData(NetFeature.Checksum | NetFeature.HostTso4 | NetFeature.HostTso6, TapOffload.None)]
    // Not offered, so not negotiated, whatever the driver writes.
    [InlineData(NetFeature.GuestChecksum | NetFeature.GuestUfo | NetFeature.GuestEcn, TapOffload.Checksum)]
    public void TheReceiveOffloadsTheDriverAcceptedAreSetOnTheBackend(ulong netFeatures, TapOffload expected)
    {
        var device = new VirtioNet(_backend, GuestMac);

        _rig.Activate(device, VirtioFeature.Version1 | netFeatures);

        Assert.Equal(expected, device.Offload);
        Assert.Equal(expected, _backend.Offloads[^1]);
        Assert.Equal(0UL, device.NegotiatedFeatures & (NetFeature.GuestUfo | NetFeature.GuestEcn));
    }

    [Fact]
    public void OffloadsTheBackendRefusesBecomeNone()
    {
        _backend.RefuseOffloads = true;
        var device = new VirtioNet(_backend, GuestMac);

        _rig.Activate(device);

        Assert.Equal(TapOffload.None, device.Offload);
        Assert.Equal(1, device.OffloadRefusals);
        Assert.Equal([TapOffload.Checksum | TapOffload.Tso4 | TapOffload.Tso6, TapOffload.None], _backend.Offloads);
    }

    [Fact]
    public void NothingHappensBeforeActivationAndUnknownQueuesAreIgnored()
    {
        var device = new VirtioNet(_backend, GuestMac);
        _backend.Incoming.Enqueue(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60)));
        _rig.Transmit.Post(_rig.Transmit.Readable(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60))));

        device.Notify(VirtioNet.TransmitQueue);
        device.OnBackendReady(NetReadiness.Readable | NetReadiness.Writable);
        _rig.Activate(device);
        device.Notify(2);
        device.Notify(-1);

        // Activation itself sends what is waiting; the early notification and readiness did nothing.
        Assert.Single(_backend.Sent);
        Assert.Equal(1, _rig.Transmit.UsedIndex);
    }

    [Fact]
    public void ResetForgetsThePendingFrameStopsWatchingAndAFreshActivationWorks()
    {
        var device = new VirtioNet(_backend, GuestMac);
        _rig.Activate(device);
        // No receive buffers: the device does not even take the frame, and stops watching for more.
        _backend.Incoming.Enqueue(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(100)));
        device.OnBackendReady(NetReadiness.Readable);
        Assert.Equal(NetReadiness.None, _backend.Watching);

        device.Reset();

        Assert.Equal(0UL, device.NegotiatedFeatures);
        Assert.False(device.HasPendingReceiveFrame);
        Assert.Equal(NetReadiness.None, _backend.Watching);
        var fresh = new NetTestRig();
        var buffer = fresh.Receive.Writable(2048);
        fresh.Receive.Post(buffer);
        fresh.Activate(device);
        Assert.Equal(1, fresh.Receive.UsedIndex);
        Assert.Equal(112u, fresh.Receive.Used(0).Length);
    }

    [Fact]
    public void ABrokenQueueStopsTheDeviceAndAsksForAReset()
    {
        var device = new VirtioNet(_backend, GuestMac);
        _rig.Receive.Post(_rig.Receive.Writable(2048));
        _rig.Activate(device);
        Assert.Equal(NetReadiness.Readable, _backend.Watching);

        // avail idx jumps further ahead than the ring holds.
        _rig.Transmit.WriteAvailIndexRaw(100);
        device.Notify(VirtioNet.TransmitQueue);

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.AvailIndexTooFarAhead, device.GetQueueFault(VirtioNet.TransmitQueue));
        Assert.Equal(1, _rig.Interrupt.ConfigurationChanges);
        Assert.Equal(NetReadiness.None, _backend.Watching);
        _backend.Incoming.Enqueue(NetTestRig.Frame(NetTestRig.Header(), NetTestRig.Ethernet(60)));
        _rig.Receive.Post(_rig.Receive.Writable(2048));
        device.Notify(VirtioNet.ReceiveQueue);
        Assert.Equal(0, _rig.Receive.UsedIndex);
        Assert.Equal(1, _rig.Interrupt.ConfigurationChanges);
    }

    [Fact]
    public void ABadRingLayoutAtActivationAsksForAReset()
    {
        var device = new VirtioNet(_backend, GuestMac);
        var misaligned = _rig.Receive.Layout with { DeviceArea = _rig.Receive.Layout.DeviceArea + 2 };

        device.Activate(new VirtioActivation(NetTestRig.AllFeatures, _rig.Memory, [misaligned, _rig.Transmit.Layout], _rig.Interrupt));

        Assert.True(device.NeedsReset);
        Assert.Equal(QueueFault.DeviceAreaMisaligned, device.GetQueueFault(VirtioNet.ReceiveQueue));
        Assert.Equal(1, _rig.Interrupt.ConfigurationChanges);
    }

    [Theory]
    [InlineData("02:00:00:00:00:01", null)]
    [InlineData("AA:bb:CC:dd:EE:f0", null)]
    [InlineData("01:00:5e:00:00:01", "multicast")]
    [InlineData("00:00:00:00:00:00", "all-zero")]
    [InlineData("02:00:00:00:00", "not a MAC address")]
    [InlineData("02-00-00-00-00-01", "not a MAC address")]
    [InlineData("02:00:00:00:00:0g", "not a MAC address")]
    [InlineData("2:00:00:00:00:01", "not a MAC address")]
    [InlineData("", "not a MAC address")]
    public void MacAddressesParseOnlyAsSixHexPairsOfAUnicastAddress(string text, string? problem)
    {
        string? error = MacAddress.TryParse(text, out var address);
        if (problem is null)
        {
            Assert.Null(error);
            Assert.Equal(text.ToLowerInvariant(), address.ToString());
        }
        else
        {
            Assert.NotNull(error);
            Assert.Contains(problem, error);
            Assert.DoesNotContain('\n', error);
        }
    }
}
