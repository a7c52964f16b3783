using System.Diagnostics;
using System.Text;
using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Host;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// samples/RunCommand, the library's 20-line example, run as its user would: it boots the default guest through
/// MicroVm.StartAsync, runs a command there and prints the guest console. Where Linux reaches user space (hardware KVM,
/// the nested test VM) the command's output and the guest's exit status come back; on kvm_pvm, where Linux stops in
/// KVM's emulator before user space (docs/host-quirks.md), the kernel's first lines prove the sample booted it.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class RunCommandSampleTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task TheSampleBootsTheDefaultGuestAndPrintsWhatItsCommandPrinted()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        Assert.SkipWhen(LinuxKernelLocator.FindCloudKernel() is null, "Debian's cloud kernel is not installed (scripts/install-deps.sh test installs it)");
        string sample = Path.Combine(RepositoryLayout.Root, "samples", "RunCommand", "bin", "Release", "net10.0", "RunCommand.dll");
        Assert.True(File.Exists(sample), $"{sample} is missing: ./test.sh builds Ember.sln, samples included");
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        string wanted = software ? "Linux version" : "sample-says-hello";

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in (string[])[sample, "echo", "sample-says-hello"])
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        var seen = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                seen.Set(); // the sample's stdout ended: waiting longer cannot bring the line
                return;
            }
            lock (output)
                output.AppendLine(e.Data);
            if (e.Data.Contains(wanted, StringComparison.Ordinal))
                seen.Set();
        };
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        process.BeginOutputReadLine();
        var clock = Stopwatch.StartNew();
        try
        {
            seen.Wait(SafetyNet, TestContext.Current.CancellationToken);
            string soFar;
            lock (output)
                soFar = output.ToString();
            if (!soFar.Contains(wanted, StringComparison.Ordinal))
            {
                string last = string.Join('\n', soFar.Split('\n').TakeLast(8));
                string ending = process.WaitForExit(TimeSpan.FromSeconds(5))
                    ? $"the sample exited with {process.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s: {await stderr}"
                    : $"the sample still ran after {clock.Elapsed.TotalSeconds:F0} s (safety net)";
                Assert.Fail($"no '{wanted}' line; {ending}; the last lines were:\n{last}");
            }
            if (!software)
            {
                Assert.True(process.WaitForExit(SafetyNet), $"the sample printed the command's output but did not exit within {SafetyNet.TotalMinutes} min");
                Assert.True(process.ExitCode == 0, $"the sample exited with {process.ExitCode}: {await stderr}");
            }
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }
}
