using Ember.Devices.Virtio.Net;
using Ember.Sys.Tests.Net;
using Ember.TestGuests.Virtio;
using Ember.Vmm;
using Ember.Vmm.Machine;

namespace Ember.Bench.GuestVirtio;

/// <summary>
/// The virtio-net guest (<see cref="VirtioNetGuest"/>) pinging the host side of a real TAP: a persistent TAP Ember
/// attaches to, moved (after Ember has opened it) into a network namespace of its own that has the host's address, as
/// <c>VirtioNetGuestTests</c> does, so the namespace's kernel answers the ARP request and every echo. The marked loop
/// is N echo round trips, one in flight: a 56-byte payload (ping's default) out on the transmit queue, the reply
/// taken from the receive queue, checked field by field and its buffer posted back. Two frames cross the TAP per
/// round trip. Needs root, /dev/net/tun and iproute2.
/// </summary>
internal static class NetWorkload
{
    public const string Name = "net-echo";

    private static readonly byte[] HostIp = [10, 254, 4, 1];
    private static readonly byte[] GuestIp = [10, 254, 4, 2];
    private static readonly MacAddress GuestMac = MacAddress.Parse("02:00:00:00:04:02");

    public static string? MissingPrerequisite() => NetworkNamespace.MissingPrerequisite();

    public static PhaseResult Run(IrqchipMode irqchip, uint echoes)
    {
        var program = new VirtioNetGuestProgram
        {
            GuestMac = GuestMac.ToArray(),
            GuestIp = GuestIp,
            HostIp = HostIp,
            Payload = new byte[56],
            EchoCount = echoes,
            EchoPhaseMarker = (uint)Layout.BootTimer,
        };
        string tap = $"embb{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";
        using var netns = NetworkNamespace.Create();
        try
        {
            // Persistent, as Ember expects a TAP to be (it attaches, never creates); it dies with the namespace.
            NetworkNamespace.Ip("tuntap", "add", tap, "mode", "tap");
            var config = new MachineConfig
            {
                KernelPath = "",
                MemorySize = Math.Max(64UL << 20, VirtioNetGuestLayout.MinimumMemory),
                Irqchip = irqchip,
                NetworkInterfaces = [new NetworkInterfaceConfig("net0", tap, GuestMac)],
            };
            var (exit, console, marks) = MarkedRun.Run(VirtioNetGuest.Build(program), config, beforeStart: _ =>
            {
                // Into the namespace, no IPv6 chatter, the host's address, up: only the guest's frames and the kernel's answers cross it.
                netns.Adopt(tap);
                netns.Exec("bash", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{tap}/disable_ipv6");
                netns.Exec("ip", "addr", "add", "10.254.4.1/24", "dev", tap);
                netns.Exec("ip", "link", "set", tap, "up");
            });
            var report = VirtioNetGuestReport.Parse(console);
            if (exit.Reason != MachineStopReason.DebugExit || (VirtioGuestOutcome)exit.DebugExitValue != VirtioGuestOutcome.Success || !report.Done)
                throw new BenchFailure($"the virtio-net guest did not succeed in {irqchip} mode: {exit.Reason} {exit.Message}; {report.Failure}\n{console}");
            if (marks.Count != 2)
                throw new BenchFailure($"the virtio-net guest marked {marks.Count} times, not 2");
            return PhaseResult.Between(Name, irqchip.ToString().ToLowerInvariant(), echoes, marks[0], marks[1]);
        }
        finally
        {
            if (Ember.Sys.TapDevice.InterfaceExists(tap))
                NetworkNamespace.Ip("link", "delete", tap);
        }
    }
}
