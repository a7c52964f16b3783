using System.Diagnostics;

namespace Ember.Devices.Tests.Virtio.Net;

/// <summary>
/// (A copy of Ember.Sys.Tests' helper.) A throw-away network namespace (ip netns add ember-test-…) so TAP tests touch no host interface; deleting it
/// destroys every interface moved into it.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>Why TAP tests cannot run here, or null: they need root, /dev/net/tun and iproute2's ip.</summary>
    public static string? MissingPrerequisite()
    {
        if (!Environment.IsPrivilegedProcess)
            return "TAP tests need root (CAP_NET_ADMIN) to create TAPs and network namespaces";
        if (!File.Exists("/dev/net/tun"))
            return "/dev/net/tun is missing (modprobe tun)";
        if (FindIp() is null)
            return "iproute2's ip is not installed (apt-get install -y iproute2)";
        return null;
    }

    public static NetworkNamespace Create()
    {
        var name = $"ember-test-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
        Ip("netns", "add", name);
        return new NetworkNamespace(name);
    }

    /// <summary>Runs a command inside the namespace and returns its standard output; throws when it fails.</summary>
    public string Exec(params string[] command) => Ip(["netns", "exec", Name, .. command]);

    /// <summary>Moves a host interface into the namespace.</summary>
    public void Adopt(string interfaceName) => Ip("link", "set", interfaceName, "netns", Name);

    public static string Ip(params string[] arguments)
    {
        var start = new ProcessStartInfo(FindIp()!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill();
            throw new TimeoutException($"ip {string.Join(' ', arguments)} did not finish");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result.Trim()}");
        return output.Result;
    }

    private static string? FindIp() =>
        new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.FirstOrDefault(File.Exists);

    public void Dispose() => Ip("netns", "delete", Name);
}
