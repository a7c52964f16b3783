using Ember.Kvm;
using Ember.Sys;

namespace Ember.Cli.Tests;

/// <summary>
/// `ember run --net` against real TAPs: ember runs inside a network namespace the test creates (ip netns exec), where
/// the TAPs are. A TAP that exists is attached (the machine is built, and only the kernel, which is none, stops it); one
/// that is not a TAP or is in use is refused in one line before anything runs.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class NetworkInterfaceTests : IDisposable
{
    private readonly string _dir;
    private readonly string _notAKernel;
    private readonly string _namespace = $"ember-cli-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
    private readonly string _tap = $"embc{Environment.ProcessId % 10000}{Random.Shared.Next(0x1000):x3}";
    private bool _namespaceCreated;

    public NetworkInterfaceTests()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        Assert.SkipUnless(Environment.IsPrivilegedProcess && File.Exists("/dev/net/tun") && File.Exists(IpPath),
            "TAP tests need root, /dev/net/tun and iproute2's ip");
        _dir = Directory.CreateTempSubdirectory("ember-cli-net-").FullName;
        _notAKernel = Path.Combine(_dir, "not-a-kernel");
        File.WriteAllText(_notAKernel, "this is not a kernel image\n");
        Ip("netns", "add", _namespace);
        _namespaceCreated = true;
    }

    private const string IpPath = "/usr/sbin/ip";

    public void Dispose()
    {
        if (_namespaceCreated)
            Ip("netns", "delete", _namespace);
        Directory.Delete(_dir, recursive: true);
    }

    private static string Ip(params string[] arguments)
    {
        var result = EmberProcess.RunProgram(IpPath, arguments);
        Assert.True(result.ExitCode == 0, $"ip {string.Join(' ', arguments)} failed: {result.Stderr}");
        return result.Stdout;
    }

    private EmberProcess.Result RunEmberInNamespace(params string[] arguments) =>
        EmberProcess.RunProgram(IpPath, ["netns", "exec", _namespace, "dotnet", EmberProcess.Dll, .. arguments]);

    private static string OneErrorLine(EmberProcess.Result result)
    {
        Assert.True(result.ExitCode == 2, $"status {result.ExitCode}, stderr: {result.Stderr}");
        var errors = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("ember: warning:", StringComparison.Ordinal)).ToList();
        string line = Assert.Single(errors);
        Assert.StartsWith("ember: error: ", line);
        Assert.DoesNotContain("   at ", result.Stderr);
        return line;
    }

    [Fact]
    public void AnExistingTapIsAttachedAndSurvivesTheRun()
    {
        Ip("netns", "exec", _namespace, IpPath, "tuntap", "add", _tap, "mode", "tap");

        var result = RunEmberInNamespace("run", "--kernel", _notAKernel, "--net", $"tap={_tap},mac=02:00:00:00:0a:01", "--console", "none", "--verbose");

        // The machine was built with the interface; what stopped it is the kernel image, which is not one.
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"virtio-net net0 (TAP {_tap}, MAC 02:00:00:00:0a:01)", result.Stderr);
        Assert.DoesNotContain("TAP '", result.Stderr);
        // A persistent TAP is the host's: Ember attached to it and left it as it was.
        Assert.Contains(_tap, Ip("netns", "exec", _namespace, IpPath, "link", "show", _tap));
    }

    [Fact]
    public void AnInterfaceThatIsNotATapIsRefusedByName() =>
        Assert.Contains("cannot open TAP 'lo': an interface of that name exists and is not a single-queue TAP",
            OneErrorLine(RunEmberInNamespace("run", "--kernel", _notAKernel, "--net", "tap=lo", "--console", "none")));

    [Fact]
    public void ATapAnotherProgramHoldsIsRefusedByName()
    {
        // The test holds the TAP open, then moves it into the namespace where ember looks for it.
        using var held = TapDevice.Open(_tap);
        Ip("link", "set", _tap, "netns", _namespace);

        string line = OneErrorLine(RunEmberInNamespace("run", "--kernel", _notAKernel, "--net", $"tap={_tap}", "--console", "none"));

        Assert.Contains($"cannot open TAP '{_tap}': it is already in use by another program", line);
    }

    [Fact]
    public void ATapOfAnotherNamespaceDoesNotExistForEmber()
    {
        Ip("netns", "exec", _namespace, IpPath, "tuntap", "add", _tap, "mode", "tap");

        // Run in the host's namespace, ember does not see the namespace's TAP (and creates none of its own).
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--net", $"tap={_tap}", "--console", "none"));

        Assert.Contains($"TAP '{_tap}' does not exist; create it first", line);
        Assert.False(TapDevice.InterfaceExists(_tap));
    }
}
