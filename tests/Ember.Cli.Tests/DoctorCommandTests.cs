using Ember.Kvm;

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
}
