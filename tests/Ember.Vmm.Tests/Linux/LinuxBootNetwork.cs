using Ember.Sys.Tests.Net;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// The host side of the Linux guest's eth0: a real TAP that Ember attaches to in the host's namespace and that
/// the test then moves into a network namespace of its own with <see cref="HostAddress"/>, so the namespace's
/// kernel answers the guest's ARP requests and pings (as in VirtioNetGuestTests), and counts them.
/// </summary>
internal sealed class LinuxBootNetwork : IDisposable
{
    public const string HostAddress = "10.254.5.1";
    public const string GuestAddress = "10.254.5.2";
    public const int PrefixLength = 24;

    private readonly NetworkNamespace _netns;

    private LinuxBootNetwork(NetworkNamespace netns, string tap)
    {
        _netns = netns;
        TapName = tap;
    }

    public string TapName { get; }

    /// <summary>Creates the namespace and a persistent TAP in the host's namespace (Ember attaches, never creates).</summary>
    public static LinuxBootNetwork Create()
    {
        string tap = $"embl{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";
        var netns = NetworkNamespace.Create();
        try
        {
            NetworkNamespace.Ip("tuntap", "add", tap, "mode", "tap");
        }
        catch
        {
            netns.Dispose();
            throw;
        }
        return new LinuxBootNetwork(netns, tap);
    }

    /// <summary>Once Ember holds the TAP: into the namespace, no IPv6 chatter from the host side, the host's address, up.</summary>
    public void MoveTapIntoNamespace()
    {
        _netns.Adopt(TapName);
        _netns.Exec("sh", "-c", $"echo 1 > /proc/sys/net/ipv6/conf/{TapName}/disable_ipv6");
        _netns.Exec("ip", "addr", "add", $"{HostAddress}/{PrefixLength}", "dev", TapName);
        _netns.Exec("ip", "link", "set", TapName, "up");
    }

    /// <summary>
    /// The namespace kernel's ICMP counters (/proc/net/snmp is per network namespace): echo requests received and
    /// echo replies sent. Nothing but the guest reaches the namespace, so these are the guest's pings.
    /// </summary>
    public (long EchoRequestsReceived, long EchoRepliesSent) IcmpEchoCounters()
    {
        string[] lines = _netns.Exec("cat", "/proc/net/snmp").Split('\n');
        // Two "Icmp:" lines: the field names, then the values.
        string[][] icmp = [.. lines.Where(l => l.StartsWith("Icmp: ", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))];
        if (icmp.Length != 2 || icmp[0].Length != icmp[1].Length)
            throw new InvalidOperationException($"unexpected /proc/net/snmp in the namespace:\n{string.Join('\n', lines)}");
        long Field(string name) => long.Parse(icmp[1][Array.IndexOf(icmp[0], name)], System.Globalization.CultureInfo.InvariantCulture);
        return (Field("InEchos"), Field("OutEchoReps"));
    }

    public void Dispose()
    {
        _netns.Dispose();
        if (Ember.Sys.TapDevice.InterfaceExists(TapName))
            NetworkNamespace.Ip("link", "delete", TapName);
    }
}
