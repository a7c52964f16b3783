using System.Runtime.Versioning;
using Ember.Vmm.Images;

namespace Ember.Vmm.Tests.Images;

/// <summary>
/// The generated /init, checked as text and run for real on the host with its PATH pointed at
/// stubs that record what init asks of mount, insmod, devmem, setsid, poweroff, ...
/// <para>
/// Safety: the script is run by the host's /bin/sh (dash), never by busybox sh, whose Debian build
/// prefers its own applets to PATH and would really mount, insmod and reboot. As a second line,
/// when the tests run as root the script runs as nobody (setpriv), so a command that escaped its
/// stub would fail for lack of privilege instead of touching the host.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class GuestInitScriptTests
{
    private const string Busybox = "/bin/busybox";
    private const string Release = "9.9.9-1-cloud-amd64";

    private static readonly KernelModule[] Modules =
    [
        new("virtio_ring", "kernel/drivers/virtio/virtio_ring.ko", "/host/virtio_ring.ko", []),
        new("virtio", "kernel/drivers/virtio/virtio.ko", "/host/virtio.ko", ["kernel/drivers/virtio/virtio_ring.ko"]),
        new("broken", "kernel/drivers/misc/broken-fail.ko", "/host/broken-fail.ko", []),
        new("virtio_blk", "kernel/drivers/block/virtio_blk.ko.xz", "/host/virtio_blk.ko.xz", ["kernel/drivers/virtio/virtio.ko"]),
        new("virtio_rng", "kernel/drivers/char/hw_random/virtio-rng.ko.zst", "/host/virtio-rng.ko.zst", ["kernel/drivers/virtio/virtio.ko"]),
        new("virtio_net", "kernel/drivers/net/virtio_net.ko", "/host/virtio_net.ko", ["kernel/drivers/virtio/virtio.ko"]),
    ];

    [Fact]
    public void TheScriptLoadsModulesInOrderAndSignalsTheBootTimer()
    {
        var script = GuestInitScript.Generate(Release, Modules);

        Assert.StartsWith("#!/bin/sh\n", script);
        Assert.DoesNotContain("\r", script);
        var lines = script.Split('\n');
        int IndexOf(string line) => Array.IndexOf(lines, line);
        var loads = new[]
        {
            IndexOf($"ember_load /lib/modules/{Release}/kernel/drivers/virtio/virtio_ring.ko"),
            IndexOf($"ember_load /lib/modules/{Release}/kernel/drivers/virtio/virtio.ko"),
            IndexOf($"ember_load_compressed xzcat /lib/modules/{Release}/kernel/drivers/block/virtio_blk.ko.xz"),
            IndexOf($"ember_load /lib/modules/{Release}/kernel/drivers/net/virtio_net.ko"),
        };
        Assert.All(loads, i => Assert.True(i > 0));
        Assert.Equal(loads.Order(), loads);
        Assert.Contains(lines, l => l.StartsWith("echo 'ember-init: cannot load kernel/drivers/char/hw_random/virtio-rng.ko.zst", StringComparison.Ordinal));
        var devmem = Array.FindIndex(lines, l => l.StartsWith("devmem 0xc0000000 8 123 ", StringComparison.Ordinal));
        Assert.True(devmem > loads[^1]);
        Assert.Equal(devmem + 1, IndexOf("echo EMBER-GUEST-READY"));
    }

    [Fact]
    public void WithoutModulesNoReleaseIsNeeded()
    {
        var script = GuestInitScript.Generate(null, []);
        Assert.DoesNotContain("ember_load /", script);
        Assert.Throws<ArgumentNullException>(() => GuestInitScript.Generate(null, Modules));
    }

    [Theory]
    [InlineData("/bin/sh")]
    [InlineData(Busybox)]
    public void TheScriptIsValidShell(string shell)
    {
        Assert.SkipUnless(File.Exists(shell), $"{shell} is not installed.");
        using var temp = new TempDirectory();
        var path = temp.WriteFile("init", GuestInitScript.Generate(Release, Modules));
        var arguments = shell == Busybox ? new[] { "sh", "-n", path } : ["-n", path];

        var result = HostTool.Run(shell, arguments);

        Assert.True(result.ExitCode == 0, result.StandardError);
    }

    [Fact]
    public void WithACommandInitRunsItReportsItsStatusAndPowersOff()
    {
        using var guest = new StubbedInit();
        var cmdline = $"console=ttyS0 * {GuestCommand.ToKernelArgument(["sh", "-c", "echo \"hello from $1\"; exit 3", "x", "the guest"])} panic=1";

        var run = guest.Run(cmdline);

        Assert.Equal(
        [
            "mount -t proc proc /proc",
            "mount -t sysfs sysfs /sys",
            "mount -t devtmpfs devtmpfs /dev",
            "busybox --install -s /bin",
            $"insmod /lib/modules/{Release}/kernel/drivers/virtio/virtio_ring.ko",
            $"insmod /lib/modules/{Release}/kernel/drivers/virtio/virtio.ko",
            $"insmod /lib/modules/{Release}/kernel/drivers/misc/broken-fail.ko",
            $"xzcat /lib/modules/{Release}/kernel/drivers/block/virtio_blk.ko.xz",
            "insmod /tmp/ember-module.ko",
            $"insmod /lib/modules/{Release}/kernel/drivers/net/virtio_net.ko",
            "devmem 0xc0000000 8 123",
            $"setsid cttyhack sh -c {GuestInitScript.CommandSession} ember-command sh -c 'echo \"hello from $1\"; exit 3' x 'the guest'",
            $"cttyhack sh -c {GuestInitScript.CommandSession} ember-command sh -c 'echo \"hello from $1\"; exit 3' x 'the guest'",
            "sync",
        ], run.Calls.Where(c => !c.StartsWith("poweroff", StringComparison.Ordinal)).SkipLast(1));
        AssertPoweredOff(run.Calls);
        var output = run.Output.Split('\n');
        Assert.Contains($"ember-init: insmod /lib/modules/{Release}/kernel/drivers/misc/broken-fail.ko failed (ignored)", output);
        Assert.Contains(output, l => l.Contains("virtio-rng.ko.zst", StringComparison.Ordinal) && l.Contains("(ignored)", StringComparison.Ordinal));
        var ready = Array.IndexOf(output, "EMBER-GUEST-READY");
        Assert.True(ready >= 0, run.Output);
        Assert.Equal(["hello from the guest", "EMBER-GUEST-EXIT=3"], output[(ready + 1)..(ready + 3)]);
    }

    [Fact]
    public void WithoutACommandInitStartsAShellOnTheConsoleThenPowersOff()
    {
        using var guest = new StubbedInit();

        var run = guest.Run("console=ttyS0 reboot=k panic=1 pci=off");

        var shell = run.Calls.IndexOf("setsid cttyhack sh");
        Assert.True(shell > run.Calls.IndexOf("devmem 0xc0000000 8 123"), string.Join('\n', run.Calls));
        Assert.Equal("cttyhack sh", run.Calls[shell + 1]);
        AssertPoweredOff(run.Calls);
        Assert.Contains("EMBER-GUEST-READY", run.Output);
        Assert.DoesNotContain("EMBER-GUEST-EXIT", run.Output);
    }

    [Fact]
    public void ACommandThatDoesNotDecodeIsReportedAsStatus127()
    {
        using var guest = new StubbedInit();

        var run = guest.Run("console=ttyS0 ember.cmd=!!!!");

        Assert.Contains("EMBER-GUEST-EXIT=127", run.Output);
        Assert.DoesNotContain(run.Calls, c => c.StartsWith("setsid", StringComparison.Ordinal));
        AssertPoweredOff(run.Calls);
    }

    private static void AssertPoweredOff(List<string> calls)
    {
        // poweroff -f only where ACPI tables exist (this host's /sys decides); reboot -f always ends the script.
        Assert.Equal("reboot -f", calls[^1]);
        var sync = calls.LastIndexOf("sync");
        Assert.True(sync >= 0 && calls.Skip(sync + 1).All(c => c is "poweroff -f" or "reboot -f"), string.Join('\n', calls));
    }

    /// <summary>The generated init with PATH replaced by a directory of recording stubs and links to the real busybox.</summary>
    private sealed class StubbedInit : IDisposable
    {
        /// <summary>r-x for everyone, so the unprivileged runner can read and run what the test wrote.</summary>
        private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

        private const string Record = "echo \"$(basename \"$0\") $*\" >> \"$EMBER_TEST_LOG\"";
        private readonly TempDirectory _temp = new("ember-init-");

        private const string HostShell = "/bin/sh";
        private const string Nobody = "65534";
        private readonly string[] _runner;

        public StubbedInit()
        {
            Assert.SkipUnless(File.Exists(Busybox), "busybox-static is not installed.");
            var shell = new FileInfo(HostShell).ResolveLinkTarget(returnFinalTarget: true)?.Name ?? "sh";
            Assert.SkipWhen(shell == "busybox", "/bin/sh is busybox, which runs its applets instead of the stubs on PATH.");
            if (Environment.UserName == "root")
            {
                var setpriv = HostTool.Find("setpriv");
                Assert.SkipWhen(setpriv is null, "Running as root without setpriv to drop privileges for the stubbed init.");
                _runner = [setpriv!, $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--", HostShell];
            }
            else
            {
                _runner = [HostShell];
            }
            File.SetUnixFileMode(_temp.Path, Readable | UnixFileMode.UserWrite);
            var bin = Directory.CreateDirectory(_temp.Combine("bin")).FullName;
            foreach (var name in new[] { "mount", "busybox", "devmem", "sync", "poweroff", "reboot", "xzcat", "zcat" })
                Stub(bin, name, Record);
            Stub(bin, "insmod", Record + "\ncase \"$1\" in *fail*) exit 1 ;; esac");
            Stub(bin, "setsid", Record + "\nexec \"$@\"");
            Stub(bin, "cttyhack", Record + "\nexec \"$@\"");
            Stub(bin, "cat", $"if [ \"$1\" = /proc/cmdline ]; then printf '%s\\n' \"$EMBER_TEST_CMDLINE\"; else exec {Busybox} cat \"$@\"; fi");
            foreach (var applet in new[] { "sh", "base64", "rm", "basename", "printf" })
                File.CreateSymbolicLink(Path.Combine(bin, applet), Busybox);

            const string pathLine = "export PATH=/bin\n";
            var script = GuestInitScript.Generate(Release, Modules);
            Assert.Contains(pathLine, script);
            ScriptPath = _temp.WriteFile("init", script.Replace(pathLine, $"export PATH={bin}\n"));
        }

        public string ScriptPath { get; }

        public (List<string> Calls, string Output) Run(string kernelCommandLine)
        {
            var log = _temp.Combine("calls.log");
            File.WriteAllText(log, "");
            File.SetUnixFileMode(log, Readable | UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite);
            File.SetUnixFileMode(ScriptPath, Readable);
            var result = HostTool.Run(_runner[0], [.. _runner[1..], ScriptPath], standardInput: [],
                environment: new Dictionary<string, string> { ["EMBER_TEST_LOG"] = log, ["EMBER_TEST_CMDLINE"] = kernelCommandLine });
            Assert.True(result.ExitCode == 0, result.StandardError);
            return (File.ReadAllLines(log).Select(l => l.TrimEnd()).ToList(), result.StandardOutput);
        }

        public void Dispose() => _temp.Dispose();

        private static void Stub(string bin, string name, string body)
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            File.SetUnixFileMode(path, Readable | UnixFileMode.UserWrite);
        }
    }
}
