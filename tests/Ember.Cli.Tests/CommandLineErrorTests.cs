using System.Text.RegularExpressions;

namespace Ember.Cli.Tests;

/// <summary>
/// What a new user meets when they get the command line wrong: every mistake is one line in our own
/// words on stderr, status 2, before anything touches KVM, so these run on any host.
/// </summary>
public sealed partial class CommandLineErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ember-cli-").FullName;
    private readonly string _notAKernel;

    public CommandLineErrorTests()
    {
        _notAKernel = Path.Combine(_dir, "not-a-kernel");
        File.WriteAllText(_notAKernel, "this is not a kernel image\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A .NET resource key (IO_FileNotFound_FileName) or a framework type name means a message that is not ours.</summary>
    [GeneratedRegex(@"\b[A-Z][A-Za-z]+_[A-Za-z0-9_]+\b|System\.[A-Z]|   at ")]
    private static partial Regex NotOurWords();

    private static string OneErrorLine(EmberProcess.Result result)
    {
        Assert.True(result.ExitCode == 2, $"status {result.ExitCode}, stderr: {result.Stderr}");
        var errors = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("ember: warning:", StringComparison.Ordinal)).ToList();
        string line = Assert.Single(errors);
        Assert.StartsWith("ember: error: ", line);
        Assert.DoesNotMatch(NotOurWords(), result.Stderr);
        Assert.Equal("", result.Stdout);
        return line;
    }

    [Theory]
    [InlineData(new[] { "run", "--memroy", "512M" }, "unknown option '--memroy'")]
    [InlineData(new[] { "run", "-kernel", "x.elf", "-m", "64M" }, "unknown option '-kernel'")]
    [InlineData(new[] { "run", "uname" }, "unexpected argument 'uname'")]
    public void AnythingUnknownBeforeADoubleDashIsAnErrorThatNamesIt(string[] arguments, string expected) =>
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run(arguments)));

    [Fact]
    public void GdbWaitWithoutAStubToWaitForIsRefused() =>
        Assert.Contains("--gdb-wait needs --gdb", OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--gdb-wait", "--console", "none")));

    [Fact]
    public void WithAKernelAnUnknownOptionIsNamedToo()
    {
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--frobnicate"));
        Assert.Contains("unknown option '--frobnicate'", line);
    }

    [Theory]
    [InlineData(new[] { "run", "--cpus", "abc" }, "--cpus needs a whole number")]
    [InlineData(new[] { "run", "--memory", "1G", "--memory", "2G" }, "--memory")]
    [InlineData(new[] { "run", "--kernel" }, "--kernel")]
    [InlineData(new[] { "run", "--irqchip", "0" }, "unknown --irqchip '0'")]
    [InlineData(new[] { "run", "--irqchip", "kernel,userspace" }, "unknown --irqchip 'kernel,userspace'")]
    [InlineData(new[] { "run", "--memory", "12X" }, "unknown unit 'X'")]
    [InlineData(new[] { "run", "--memory", "3.3K" }, "not a whole number of bytes")]
    [InlineData(new[] { "run", "--console", "tty" }, "unknown --console 'tty'")]
    [InlineData(new[] { "run", "--gdb", "1234" }, "--gdb '1234' must be tcp:HOST:PORT or unix:PATH")]
    [InlineData(new[] { "run", "--gdb", "tcp:gdb.example:1234" }, "is not an IP address")]
    [InlineData(new[] { "frobnicate" }, "frobnicate")]
    public void ParseErrorsAreOneLineAndStatusTwo(string[] arguments, string expected) =>
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run(arguments)));

    [Fact]
    public void AParserErrorPointsAtTheCommandsHelp()
    {
        string line = OneErrorLine(EmberProcess.Run("run", "--memory", "1G", "--memory", "2G"));
        Assert.Contains("(see `ember run --help`)", line);
    }

    [Fact]
    public void ADecimalSizeThatIsWholeBytesIsAccepted()
    {
        // 3.5G parses: the run goes on to the next check (here the kernel, which is not one, or KVM).
        string line = OneErrorLine(EmberProcess.Run("run", "--memory", "3.5G", "--kernel", _notAKernel, "--console", "none"));
        Assert.DoesNotContain("invalid size", line);
    }

    [Fact]
    public void MoreMemoryThanTheHostHasIsWarnedAboutInOneLine()
    {
        var result = EmberProcess.Run("run", "--memory", "1T", "--kernel", _notAKernel, "--console", "none");
        Assert.Contains(result.Stderr.Split('\n'), l => l.StartsWith("ember: warning: --memory 1048576 MiB is more than this host's", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/dev/zero", "is a device")]
    [InlineData("DIR", "is a directory")]
    [InlineData("FIFO", "is a FIFO")]
    [InlineData("/nonexistent/vmlinuz", "kernel image not found: /nonexistent/vmlinuz")]
    [InlineData("EMPTY", "is empty")]
    public void AKernelThatIsNotARegularFileIsRefusedWithoutReadingIt(string kernel, string expected)
    {
        string path = PreparePath(kernel);
        // A FIFO opened for reading would block forever and /dev/zero would never end: both must be refused at once.
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run("run", "--kernel", path, "--console", "none")));
    }

    [Theory]
    [InlineData("disk.img,rw", "unknown --disk flag 'rw' in 'disk.img,rw' (PATH[,ro][,id=NAME])")]
    [InlineData(",ro", "--disk ',ro' has no path")]
    [InlineData("/nonexistent/disk.img", "disk image not found: /nonexistent/disk.img")]
    [InlineData("/dev/zero", "disk image /dev/zero is not a regular file")]
    [InlineData("DIR", "is a directory")]
    [InlineData("SMALL", "is smaller than one 512-byte sector")]
    public void ABadDriveIsOneLineNamingIt(string drive, string expected)
    {
        if (drive == "SMALL")
        {
            drive = Path.Combine(_dir, "small.img");
            File.WriteAllBytes(drive, new byte[100]);
        }
        else if (drive == "DIR")
        {
            drive = PreparePath(drive);
        }
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--disk", drive, "--console", "none")));
    }

    [Theory]
    [InlineData("id=", "disk id '' must be 1 to 20 printable ASCII characters")]
    [InlineData("id=abcdefghijklmnopqrstu", "disk id 'abcdefghijklmnopqrstu' must be 1 to 20 printable ASCII characters")]
    [InlineData("DUPLICATE", "disk id 'root' is used twice")]
    public void ADiskIdMustBeASerialAndUnique(string flag, string expected)
    {
        string image = Path.Combine(_dir, "ok.img");
        File.WriteAllBytes(image, new byte[4096]);
        string[] disks = flag == "DUPLICATE" ? ["--disk", $"{image},id=root", "--disk", $"{image},ro,id=root"] : ["--disk", $"{image},{flag}"];
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run(["run", "--kernel", _notAKernel, .. disks, "--console", "none"])));
    }

    [Theory]
    [InlineData(new[] { "tap=" }, "--net 'tap=' names no TAP (tap=NAME[,mac=MAC][,id=ID])")]
    [InlineData(new[] { "mac=02:00:00:00:00:01" }, "--net 'mac=02:00:00:00:00:01' names no TAP")]
    [InlineData(new[] { "tap=tap0,mac=zz" }, "--net 'tap=tap0,mac=zz': 'zz' is not a MAC address")]
    [InlineData(new[] { "tap=tap0,mac=01:00:5e:00:00:01" }, "'01:00:5e:00:00:01' is a multicast MAC address")]
    [InlineData(new[] { "tap=tap0,mac=00:00:00:00:00:00" }, "all-zero MAC address")]
    [InlineData(new[] { "tap=tap0,speed=10" }, "unknown --net setting 'speed=10' in 'tap=tap0,speed=10'")]
    [InlineData(new[] { "tap0" }, "unknown --net setting 'tap0' in 'tap0'")]
    [InlineData(new[] { "tap=a,tap=b" }, "--net 'tap=a,tap=b' gives tap= twice")]
    [InlineData(new[] { "tap=embnosuch0" }, "TAP 'embnosuch0' does not exist; create it first (ip tuntap add embnosuch0 mode tap")]
    [InlineData(new[] { "tap=bad/name" }, "TAP name 'bad/name' may contain only letters, digits")]
    [InlineData(new[] { "tap=lo", "tap=lo" }, "TAP 'lo' is given to two network interfaces")]
    [InlineData(new[] { "tap=lo,id=a", "tap=lo2,id=a" }, "network interface id 'a' is used twice")]
    [InlineData(new[] { "tap=lo,id=a b" }, "network interface id 'a b' must be 1 to 64 letters")]
    [InlineData(new[] { "tap=lo,mac=02:00:00:00:00:07", "tap=embnosuch0,mac=02:00:00:00:00:07" }, "MAC address 02:00:00:00:00:07 is given to two network interfaces")]
    public void ABadNetworkInterfaceIsOneLineNamingIt(string[] nets, string expected)
    {
        string[] options = [.. nets.SelectMany(n => new[] { "--net", n })];
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run(["run", "--kernel", _notAKernel, .. options, "--console", "none"])));
    }

    [Fact]
    public void ANetworkInterfaceWithoutALocalApicPassesToTheNextCheck() =>
        // Without a LAPIC the devices interrupt through INTx: user-space mode is no reason to refuse them.
        Assert.DoesNotContain("local APIC",
            OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--irqchip", "userspace", "--net", "tap=lo", "--console", "none")));

    [Theory]
    [InlineData("cid=2,uds=DIR/v.sock", "vsock guest CID must be between 3 and 4294967294, not 2 (0-2 are reserved: 2 is the host)")]
    [InlineData("cid=4294967295,uds=DIR/v.sock", "vsock guest CID must be between 3 and 4294967294, not 4294967295")]
    [InlineData("cid=abc,uds=DIR/v.sock", "--vsock cid must be a whole number, not 'abc' (cid=N,uds=PATH)")]
    [InlineData("cid=-3,uds=DIR/v.sock", "--vsock cid must be a whole number, not '-3'")]
    [InlineData("cid=3", "--vsock 'cid=3' needs uds=PATH (cid=N,uds=PATH)")]
    [InlineData("cid=3,uds=", "--vsock 'cid=3,uds=' needs uds=PATH")]
    [InlineData("uds=DIR/v.sock", "needs cid=N (cid=N,uds=PATH)")]
    [InlineData("cid=3,uds=DIR/v.sock,port=52", "unknown --vsock setting 'port=52' in")]
    [InlineData("3,DIR/v.sock", "unknown --vsock setting '3' in")]
    [InlineData("cid=3,cid=4,uds=DIR/v.sock", "gives cid= twice (cid=N,uds=PATH)")]
    [InlineData("cid=3,uds=/nonexistent/dir/v.sock", "vsock uds_path: cannot listen on /nonexistent/dir/v.sock: its directory does not exist; create it first")]
    [InlineData("cid=3,uds=DIR/file", "it is a regular file; Ember replaces only a stale socket")]
    [InlineData("cid=3,uds=DIR", "it is a directory")]
    public void ABadVsockIsOneLineNamingIt(string vsock, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "file"), "keep me");
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--vsock", vsock.Replace("DIR", _dir, StringComparison.Ordinal), "--console", "none")));
        Assert.False(File.Exists(Path.Combine(_dir, "v.sock")), "a refused machine left its socket behind");
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(_dir, "file")));
    }

    [Fact]
    public void AVsockPathAnotherProgramListensOnIsRefused()
    {
        string path = Path.Combine(_dir, "taken.sock");
        using var other = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        other.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        other.Listen();
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--vsock", $"cid=3,uds={path}", "--console", "none"));
        Assert.Contains($"vsock uds_path: cannot listen on {path}: another program is listening on it; stop it or choose another path", line);
        Assert.True(File.Exists(path), "the other program's socket was removed");
    }

    [Fact]
    public void VsockIsGivenOnce() =>
        Assert.Contains("--vsock", OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--vsock", $"cid=3,uds={_dir}/a.sock", "--vsock", $"cid=4,uds={_dir}/b.sock", "--console", "none")));

    [Fact]
    public void AGoodVsockPassesToTheNextCheck()
    {
        // Accepted: the run goes on to the kernel, which is not one (or to KVM), and leaves no socket behind.
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--vsock", $"cid=3,uds={_dir}/v.sock", "--console", "none"));
        Assert.DoesNotContain("vsock", line);
        Assert.False(File.Exists(Path.Combine(_dir, "v.sock")));
    }

    [Fact]
    public void VirtioDevicesWithoutALocalApicPassToTheNextCheck()
    {
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--irqchip", "userspace", "--rng", "--console", "none"));
        Assert.DoesNotContain("local APIC", line);
        Assert.DoesNotContain("irqchip", line);
    }

    [Fact]
    public void AnInitrdFromDevZeroIsRefusedWithoutReadingIt() =>
        Assert.Contains("initrd /dev/zero is a device", OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--initrd", "/dev/zero")));

    [Fact]
    public void AKernelBiggerThanTheGuestsMemoryIsRefusedWithTheFix()
    {
        string big = Path.Combine(_dir, "big");
        using (var file = File.Create(big))
            file.SetLength(20L << 20);
        string line = OneErrorLine(EmberProcess.Run("run", "--kernel", big, "--memory", "16M"));
        Assert.Contains("raise --memory", line);
    }

    [Theory]
    [InlineData("file:/nonexistent/dir/x", "the directory /nonexistent/dir does not exist")]
    [InlineData("file:DIR", "is a directory")]
    [InlineData("file:FIFO", "is a FIFO")]
    public void ABadConsoleFileIsOneLine(string console, string expected)
    {
        string spec = console.Replace("DIR", _dir, StringComparison.Ordinal).Replace("FIFO", PreparePath("FIFO"), StringComparison.Ordinal);
        Assert.Contains(expected, OneErrorLine(EmberProcess.Run("run", "--kernel", _notAKernel, "--console", spec)));
    }

    [Fact]
    public void ImageVmlinuxWithAnEmptyOutputNameIsOneLine() =>
        Assert.Contains("-o needs a file name", OneErrorLine(EmberProcess.Run("image", "vmlinux", _notAKernel, "-o", "")));

    [Fact]
    public void ImageVmlinuxOfSomethingThatIsNotABzImageIsOneLine() =>
        OneErrorLine(EmberProcess.Run("image", "vmlinux", _notAKernel, "-o", Path.Combine(_dir, "out")));

    [Fact]
    public void HelpToAFullStdoutIsOneLineAndItsOwnStatus()
    {
        var result = EmberProcess.RunRedirected(">/dev/full", "--help");
        Assert.Equal(74, result.ExitCode);
        Assert.Equal("ember: error: cannot write to standard output: no space left on device", result.Stderr.Trim());
    }

    [Theory]
    [InlineData("2>&-")]
    [InlineData("2>/dev/full")]
    public void AClosedOrFullStderrDoesNotCrashEmber(string redirection)
    {
        var result = EmberProcess.RunRedirected(redirection, "run", "--memroy", "1");
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public void TheHelpListsEveryOptionOnce()
    {
        var result = EmberProcess.Run("run", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--kernel", "--memory", "--cpus", "--irqchip", "--console", "--debug-exit", "--test-devices", "--quiet", "--cpuid-mask" })
            Assert.Contains(option, result.Stdout);
    }

    private string PreparePath(string name)
    {
        switch (name)
        {
            case "DIR":
                return _dir;
            case "FIFO":
                string fifo = Path.Combine(_dir, "fifo");
                if (!File.Exists(fifo))
                    System.Diagnostics.Process.Start("mkfifo", fifo)!.WaitForExit();
                return fifo;
            case "EMPTY":
                string empty = Path.Combine(_dir, "empty");
                File.WriteAllBytes(empty, []);
                return empty;
            default:
                return name;
        }
    }
}
