using System.Buffers.Binary;
using System.Text.Json;
using Ember.Devices.Virtio.Net;
using Ember.Kvm;
using Ember.Sys.Tests.Net;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-net device driven through real KVM by an assembled guest driver (<see cref="VirtioNetGuest"/>) over a
/// real TAP: the test creates the TAP, Ember attaches to it, and before the guest runs the test moves it into a network
/// namespace of its own with the host's address, so the namespace's kernel answers the guest's ARP request and ping.
/// Needs root like every TAP test (skipped otherwise). It runs in every irqchip mode: the guest polls, and without a
/// LAPIC the function would interrupt through INTx (<see cref="VirtioBlockGuestIntxTests"/>).
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioNetGuestTests : IDisposable
{
    private static readonly byte[] HostIp = [10, 254, 3, 1];
    private static readonly byte[] GuestIp = [10, 254, 3, 2];
    private static readonly MacAddress GuestMac = MacAddress.Parse("02:00:00:00:03:02");

    private readonly NetworkNamespace? _netns;
    private readonly string _tap = $"embg{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";

    public VirtioNetGuestTests()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        var missing = NetworkNamespace.MissingPrerequisite();
        Assert.SkipWhen(missing is not null, missing ?? "");
        _netns = NetworkNamespace.Create();
        try
        {
            // Persistent, as Ember expects a TAP to be (it attaches, never creates); it dies with the namespace.
            NetworkNamespace.Ip("tuntap", "add", _tap, "mode", "tap");
        }
        catch
        {
            _netns.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _netns?.Dispose();
        if (_netns is not null && Ember.Sys.TapDevice.InterfaceExists(_tap))
            NetworkNamespace.Ip("link", "delete", _tap);
    }

    /// <summary>Into the namespace, no IPv6 chatter, the host's address, up: only what the guest sends and the kernel's answers cross it.</summary>
    private void MoveTapIntoNamespace()
    {
        _netns!.Adopt(_tap);
        _netns.Exec("bash", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{_tap}/disable_ipv6");
        _netns.Exec("ip", "addr", "add", "10.254.3.1/24", "dev", _tap);
        _netns.Exec("ip", "link", "set", _tap, "up");
    }

    private byte[] NamespaceMac()
    {
        using var link = JsonDocument.Parse(_netns!.Exec("ip", "-j", "link", "show", _tap));
        return MacAddress.Parse(link.RootElement[0].GetProperty("address").GetString()!).ToArray();
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void TheGuestFindsTheHostByArpPingsItAndGetsItsPayloadBack(IrqchipMode irqchip)
    {
        byte[] payload = new byte[1000];
        new Random(5).NextBytes(payload);
        var program = new VirtioNetGuestProgram { GuestMac = GuestMac.ToArray(), GuestIp = GuestIp, HostIp = HostIp, Identifier = 0x1234, Sequence = 7, Payload = payload };
        byte[] reply = [];

        var result = VirtioGuestBoot.Run(VirtioNetGuest.Build(program), irqchip,
            config => config with { NetworkInterfaces = [new NetworkInterfaceConfig("net0", _tap, GuestMac)] },
            beforeStart: _ => MoveTapIntoNamespace(),
            inspect: vm =>
            {
                uint length = vm.Memory.ReadObject<uint>(new(VirtioNetGuestLayout.ResultReplyLength));
                reply = vm.Memory.GetSpan(new(VirtioNetGuestLayout.Reply), (int)Math.Min(length, 2048)).ToArray();
            });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        var report = VirtioNetGuestReport.Parse(result.Console);
        Assert.Equal(NamespaceMac(), report.HostMac);
        // The reply the guest kept: from the namespace's kernel to the guest, an echo reply with a valid checksum.
        Assert.Equal(EthernetFrames.HeaderSize + 20 + 8 + payload.Length, reply.Length);
        Assert.Equal(GuestMac.ToArray(), reply[..6]);
        Assert.Equal(NamespaceMac(), reply[6..12]);
        Assert.Equal(EthernetFrames.IcmpProtocol, EthernetFrames.IpProtocol(reply));
        Assert.Equal(HostIp, reply[26..30]);
        Assert.Equal(GuestIp, reply[30..34]);
        var icmp = reply.AsSpan(EthernetFrames.HeaderSize + 20);
        Assert.Equal(0, icmp[0]);
        Assert.Equal(0, EthernetFrames.InternetChecksum(icmp));
        Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]));
        Assert.Equal(7, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal(payload, icmp[8..].ToArray());
    }

    [Fact]
    public void WithAnEchoCountTheGuestPingsThatManyTimesOneAfterTheOtherBetweenTwoMarks()
    {
        // What the guest benchmark runs (bench/Ember.Bench.GuestVirtio): echo after echo, the loop marked on the boot timer.
        var program = new VirtioNetGuestProgram
        {
            GuestMac = GuestMac.ToArray(), GuestIp = GuestIp, HostIp = HostIp, EchoCount = 5, EchoPhaseMarker = (uint)Layout.BootTimer,
        };
        int marks = 0;
        uint replies = 0;
        var result = VirtioGuestBoot.Run(VirtioNetGuest.Build(program), IrqchipMode.Split,
            config => config with { BootTimer = true, NetworkInterfaces = [new NetworkInterfaceConfig("net0", _tap, GuestMac)] },
            beforeStart: vm =>
            {
                vm.BootTimeReported += _ => Interlocked.Increment(ref marks);
                MoveTapIntoNamespace();
            },
            inspect: vm => replies = vm.Memory.ReadObject<uint>(new(VirtioNetGuestLayout.ResultEchoReplies)));
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.Equal(5u, replies);
        Assert.Equal(2, marks);
        // The namespace's kernel answered the ARP request and all five echo requests: six frames back through the TAP.
        Assert.True(SentByNamespace() >= 6, $"the namespace sent {SentByNamespace()} frames to the guest, fewer than the 6 answers");
    }

    [Fact]
    public void AnArpRequestForAnAddressNobodyHasCrossesTheTapAndTheGuestKeepsWaitingForAnAnswer()
    {
        // 10.254.3.9 is in the namespace's subnet but nobody's: the kernel stays silent, the guest keeps waiting.
        var program = new VirtioNetGuestProgram { GuestMac = GuestMac.ToArray(), GuestIp = GuestIp, HostIp = [10, 254, 3, 9] };

        var result = VirtioGuestBoot.Run(VirtioNetGuest.Build(program), IrqchipMode.Split,
            config => config with { NetworkInterfaces = [new NetworkInterfaceConfig("net0", _tap, GuestMac)] },
            beforeStart: _ => MoveTapIntoNamespace(),
            whileRunning: (vm, _) =>
            {
                // The request left the guest and crossed the TAP (the namespace counted it) before the test gives up.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (ReceivedByNamespace() < 1 && DateTime.UtcNow < deadline)
                    Thread.Sleep(10);
                vm.RequestStop("the test saw the ARP request go unanswered");
            });

        Assert.Equal(MachineStopReason.HostRequest, result.Exit.Reason);
        Assert.True(ReceivedByNamespace() >= 1, "the guest's ARP request never reached the namespace");
        Assert.Null(VirtioNetGuestReport.Parse(result.Console).HostMac);
    }

    private long SentByNamespace()
    {
        using var stats = JsonDocument.Parse(_netns!.Exec("ip", "-s", "-j", "link", "show", _tap));
        return stats.RootElement[0].GetProperty("stats64").GetProperty("tx").GetProperty("packets").GetInt64();
    }

    private long ReceivedByNamespace()
    {
        using var stats = JsonDocument.Parse(_netns!.Exec("ip", "-s", "-j", "link", "show", _tap));
        return stats.RootElement[0].GetProperty("stats64").GetProperty("rx").GetProperty("packets").GetInt64();
    }
}
