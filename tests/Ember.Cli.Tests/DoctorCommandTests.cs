using Ember.Kvm;
using Ember.TestGuests;
using Ember.Vmm.Cpu;

namespace Ember.Cli.Tests;

public sealed class DoctorCommandTests
{
    [Fact]
    [Trait("Requires", "kvm")]
    public void DoctorReportsTheApiVersionTheBackendAndEachCapability()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        var result = EmberProcess.Run("doctor");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("API version:  12 (stable)", result.Stdout);
        Assert.Contains(Directory.Exists("/sys/module/kvm_pvm") ? "SOFTWARE KVM (kvm_pvm" : "hardware KVM", result.Stdout);
        Assert.Contains("IoEventFdAnyLength", result.Stdout);
        Assert.Contains("Verdict:      Ember can run here.", result.Stdout);
    }

    [Fact]
    public void DoctorOnAMissingDeviceSaysSoAndFails()
    {
        var result = EmberProcess.Run("doctor", "--device", "/nonexistent/kvm");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("NOT usable", result.Stdout);
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void DoctorSaysWhichCpuidFeaturesThisHostLetsEmberHide()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        using var kvm = KvmSystem.Open();
        var report = CpuidMaskProbe.Run(kvm);
        var result = EmberProcess.Run("doctor");
        Assert.Contains("CPUID masking: " + report.Render(), result.Stdout);
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void RunWarnsInOneLineExactlyWhenAMaskedFeatureStaysVisible()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available");
        using var kvm = KvmSystem.Open();
        var report = CpuidMaskProbe.Run(kvm);
        string kernel = MultibootImage.WriteTemporary(a => GuestCode.Exit32(a, 0));
        try
        {
            foreach (string feature in new[] { "popcnt", "cx16", "xsave" })
            {
                var result = EmberProcess.Run("run", "--kernel", kernel, "--memory", "32M", "--debug-exit", "--console", "none", "--cpuid-mask", feature);
                Assert.Equal(1, result.ExitCode);
                var warnings = result.Stderr.Split('\n').Where(l => l.StartsWith("ember: warning: --cpuid-mask cannot hide", StringComparison.Ordinal)).ToList();
                if (report.StaysVisibleWhenMasked(feature))
                    Assert.Contains(feature, Assert.Single(warnings));
                else
                    Assert.Empty(warnings);
            }
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
