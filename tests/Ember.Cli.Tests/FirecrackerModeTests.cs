using System.Diagnostics;
using Ember.Kvm;
using Ember.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Ember.Cli.Tests;

/// <summary>
/// `ember` started the way an orchestrator starts `firecracker`: a real process, a real Unix socket and real curl
/// requests, or a configuration file alone.
/// </summary>
public sealed class FirecrackerModeTests : IDisposable
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ember-fc-");

    private string PathOf(string name) => Path.Combine(_directory.FullName, name);

    public void Dispose() => _directory.Delete(recursive: true);

    /// <summary>Prints a line on COM1, then resets the machine through the i8042 (command 0xFE), as `reboot` does.</summary>
    private static void HelloThenReset(Assembler a, string text)
    {
        GuestCode.Print32(a, text);
        a.mov(al, 0xFE);
        a.@out(0x64, al);
        a.hlt();
    }

    private string WriteGuest(Action<Assembler> emit)
    {
        string path = PathOf("guest.elf");
        File.WriteAllBytes(path, MultibootImage.Build(emit));
        return path;
    }

    private static Process Start(params string[] arguments) => Start(EmberBuild.Framework, arguments);

    /// <summary>Starts `ember` as the framework-dependent build (dotnet ember.dll) or as the Native AOT binary ./test.sh publishes.</summary>
    private static Process Start(EmberBuild build, params string[] arguments)
    {
        ProcessStartInfo info;
        if (build == EmberBuild.NativeAot)
        {
            Assert.True(File.Exists(EmberProcess.NativeAotBinary), $"{EmberProcess.NativeAotBinary} is missing: ./test.sh publishes it (dotnet publish src/Ember.Cli -r linux-x64)");
            info = new ProcessStartInfo(EmberProcess.NativeAotBinary);
        }
        else
        {
            info = new ProcessStartInfo("dotnet");
            info.ArgumentList.Add(EmberProcess.Dll);
        }
        info.RedirectStandardOutput = info.RedirectStandardError = info.RedirectStandardInput = true;
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        var process = Process.Start(info)!;
        process.StandardInput.Close();
        return process;
    }

    private static (int Status, string Body) Curl(string socket, string method, string path, string? json = null)
    {
        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-sS", "--unix-socket", socket, "-X", method, "-w", "\n%{http_code}", $"http://localhost{path}" })
            info.ArgumentList.Add(argument);
        if (json is not null)
        {
            info.ArgumentList.Add("-H");
            info.ArgumentList.Add("Content-Type: application/json");
            info.ArgumentList.Add("-d");
            info.ArgumentList.Add(json);
        }
        using var curl = Process.Start(info)!;
        string output = curl.StandardOutput.ReadToEnd();
        Assert.True(curl.WaitForExit(SafetyNet), "curl did not finish");
        Assert.True(curl.ExitCode == 0, $"curl failed: {curl.StandardError.ReadToEnd()}");
        int split = output.LastIndexOf('\n');
        return (int.Parse(output[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), output[..split]);
    }

    private static void WaitForSocket(string socket, Process process)
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (!File.Exists(socket))
        {
            if (process.HasExited)
                Assert.Fail($"ember exited before listening: {process.StandardError.ReadToEnd()}");
            Assert.True(DateTime.UtcNow < deadline, "ember never created its API socket");
            Thread.Sleep(20);
        }
    }

    private static (int ExitCode, string Stdout, string Stderr) WaitForExit(Process process)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(SafetyNet))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"ember did not exit within {SafetyNet.TotalSeconds} s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Theory]
    [InlineData(EmberBuild.Framework)]
    [InlineData(EmberBuild.NativeAot)]
    [Trait("Requires", "kvm")]
    public void FirecrackersGettingStartedCurlSequenceBootsTheGuest(EmberBuild build)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = WriteGuest(a => HelloThenReset(a, "hello over the API\n"));
        string socket = PathOf("firecracker.socket");
        using var ember = Start(build, "--api-sock", socket, "--id", "vm-1");
        WaitForSocket(socket, ember);
        var (status, body) = Curl(socket, "GET", "/");
        Assert.Equal(200, status);
        Assert.Contains("\"id\":\"vm-1\"", body);
        Assert.Contains("\"state\":\"Not started\"", body);
        Assert.Equal(204, Curl(socket, "PUT", "/boot-source", $$"""{"kernel_image_path":"{{kernel}}","boot_args":"console=ttyS0 reboot=k panic=1 pci=off"}""").Status);
        Assert.Equal(204, Curl(socket, "PUT", "/machine-config", """{"vcpu_count":1,"mem_size_mib":64}""").Status);
        (status, body) = Curl(socket, "PUT", "/machine-config", """{"vcpu_count":1,"mem_size_mib":64,"bogus":1}""");
        Assert.Equal((400, """{"fault_message":"invalid request body: unknown field 'bogus'"}"""), (status, body));
        Assert.Equal(204, Curl(socket, "PUT", "/actions", """{"action_type":"InstanceStart"}""").Status);
        var (exitCode, stdout, stderr) = WaitForExit(ember);
        Assert.Equal("hello over the API\n", stdout);
        Assert.Equal(4, exitCode);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(socket), "the API socket is removed when ember exits");
    }

    [Theory]
    [InlineData(EmberBuild.Framework)]
    [InlineData(EmberBuild.NativeAot)]
    [Trait("Requires", "kvm")]
    public void AConfigFileWithNoApiBootsTheGuestAlone(EmberBuild build)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = WriteGuest(a => HelloThenReset(a, "hello from the file\n"));
        string disk = PathOf("disk.img");
        File.WriteAllBytes(disk, new byte[1 << 16]);
        string config = PathOf("vm.json");
        File.WriteAllText(config, $$"""
            {
              "boot-source": { "kernel_image_path": "{{kernel}}", "boot_args": "console=ttyS0" },
              "drives": [ { "drive_id": "rootfs", "path_on_host": "{{disk}}", "is_root_device": true, "is_read_only": true } ],
              "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
              "network-interfaces": []
            }
            """);
        using var ember = Start(build, "--config-file", config, "--no-api");
        var (exitCode, stdout, stderr) = WaitForExit(ember);
        Assert.True(exitCode == 4, $"exit {exitCode}: {stderr}");
        Assert.Equal("hello from the file\n", stdout);
    }

    /// <summary>Waits for a byte on COM1's receiver, prints "got " and the byte, then resets the machine.</summary>
    private static void EchoOneUartByteThenReset(Assembler a)
    {
        var poll = a.CreateLabel();
        a.mov(dx, 0x3FD);          // LSR
        a.Label(ref poll);
        a.@in(al, dx);
        a.test(al, 1);             // data ready
        a.jz(poll);
        a.mov(dx, 0x3F8);
        a.@in(al, dx);             // RBR
        a.mov(bl, al);
        GuestCode.Print32(a, "got ");
        a.mov(al, bl);
        a.mov(dx, 0x3F8);
        a.@out(dx, al);
        HelloThenReset(a, "\n");
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void WithAConfigFileAndNoApiABytePipedToStdinReachesTheGuestUart()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = WriteGuest(EchoOneUartByteThenReset);
        string config = PathOf("vm.json");
        File.WriteAllText(config, $$"""
            {
              "boot-source": { "kernel_image_path": "{{kernel}}", "boot_args": "console=ttyS0" },
              "machine-config": { "vcpu_count": 1, "mem_size_mib": 32 }
            }
            """);
        // Ctrl-A is an ordinary byte here: Firecracker has no console escapes.
        var result = EmberProcess.RunWithInput([0x01], "--config-file", config, "--no-api");
        Assert.True(result.ExitCode == 4, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Equal("got \u0001\n", result.Stdout);
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void UnderTheApiStdinReachesTheGuestUartOnceTheMachineStarts()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string kernel = WriteGuest(EchoOneUartByteThenReset);
        string socket = PathOf("api.sock");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var argument in new[] { EmberProcess.Dll, "--api-sock", socket })
            info.ArgumentList.Add(argument);
        using var ember = Process.Start(info)!;
        // Written before the machine exists: the byte waits in the pipe until InstanceStart.
        ember.StandardInput.BaseStream.Write("Q"u8);
        ember.StandardInput.BaseStream.Flush();
        WaitForSocket(socket, ember);
        Assert.Equal(204, Curl(socket, "PUT", "/boot-source", $$"""{"kernel_image_path":"{{kernel}}"}""").Status);
        Assert.Equal(204, Curl(socket, "PUT", "/machine-config", """{"vcpu_count":1,"mem_size_mib":32}""").Status);
        Assert.Equal(204, Curl(socket, "PUT", "/actions", """{"action_type":"InstanceStart"}""").Status);
        var (exitCode, stdout, stderr) = WaitForExit(ember);
        Assert.True(exitCode == 4, $"exit {exitCode}: {stderr}");
        Assert.Equal("got Q\n", stdout);
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void ASecondEmberOnTheSameSocketFailsWithOneClearLine()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        string socket = PathOf("api.sock");
        using var first = Start("--api-sock", socket);
        WaitForSocket(socket, first);
        var second = EmberProcess.Run("--api-sock", socket);
        Assert.Equal(2, second.ExitCode);
        Assert.Equal($"ember: error: cannot listen on {socket}: another program is listening on it; stop it or choose another path\n", second.Stderr);
        Assert.Equal(200, Curl(socket, "GET", "/").Status);
        first.Kill();
        first.WaitForExit(SafetyNet);
    }

    [Theory]
    [InlineData("unknown-field")]
    [InlineData("missing-kernel")]
    [InlineData("malformed")]
    [InlineData("network")]
    public void ABadConfigFileGivesOneClearLineAndStatusTwo(string problem)
    {
        string config = PathOf("vm.json");
        File.WriteAllText(config, problem switch
        {
            "unknown-field" => """{"boot-source":{"kernel_image_path":"/x"},"colour":"red"}""",
            "missing-kernel" => $$$"""{"boot-source":{"kernel_image_path":"{{{PathOf("nope")}}}"}}""",
            "malformed" => """{"boot-source":""",
            _ => """{"network-interfaces":[{"iface_id":"eth0","host_dev_name":"tap0","mtu":1500}]}""",
        });
        var result = EmberProcess.Run("--config-file", config, "--no-api");
        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ember: error: ", line);
        if (KvmSystem.IsAvailable())
        {
            Assert.Contains(problem switch
            {
                "unknown-field" => "unknown field 'colour'",
                "missing-kernel" => "boot-source: kernel_image_path: the kernel image",
                "malformed" => "malformed JSON",
                _ => "mtu: Ember does not offer VIRTIO_NET_F_MTU yet; leave it out",
            }, line);
        }
    }

    [Fact]
    public void NoApiWithoutAConfigFileIsRefused()
    {
        var result = EmberProcess.Run("--no-api");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("ember: error: --no-api needs --config-file: without the API, the file is the only way to configure the microVM\n", result.Stderr);
    }

    [Fact]
    public void WithoutACommandOrFirecrackerFlagsEmberSaysWhatItNeeds()
    {
        var result = EmberProcess.Run();
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("a command is needed", result.Stderr);
    }
}
