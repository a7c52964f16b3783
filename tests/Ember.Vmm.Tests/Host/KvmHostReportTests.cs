using Ember.Kvm;
using Ember.Vmm.Host;

namespace Ember.Vmm.Tests.Host;

public sealed class KvmHostReportTests
{
    [Theory]
    [InlineData(new[] { "kvm", "kvm_pvm" }, KvmFlavour.SoftwarePvm)]
    [InlineData(new[] { "kvm", "kvm_intel", "kvm_pvm" }, KvmFlavour.SoftwarePvm)]
    [InlineData(new[] { "kvm", "kvm_intel" }, KvmFlavour.HardwareIntel)]
    [InlineData(new[] { "kvm", "kvm_amd" }, KvmFlavour.HardwareAmd)]
    [InlineData(new[] { "kvm" }, KvmFlavour.Unknown)]
    [InlineData(new string[0], KvmFlavour.Absent)]
    public void TheLoadedModuleDecidesTheFlavour(string[] modules, KvmFlavour expected)
    {
        var sys = Directory.CreateTempSubdirectory("ember-sys-");
        try
        {
            foreach (var module in modules)
                Directory.CreateDirectory(Path.Combine(sys.FullName, module));
            Assert.Equal(expected, KvmHostReport.DetectFlavour(sys.FullName));
        }
        finally
        {
            sys.Delete(recursive: true);
        }
    }

    [Fact]
    public void AMissingDeviceIsReportedAsUnusableWithTheReason()
    {
        var report = KvmHostReport.Probe("/nonexistent/kvm");
        Assert.False(report.DeviceUsable);
        Assert.Contains("ENOENT", report.OpenError);
        Assert.Contains("NOT usable", report.Render());
    }

    [Fact]
    [Trait("Requires", "kvm")]
    public void OnThisHostTheReportMatchesWhatKvmSays()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        var report = KvmHostReport.Probe();
        Assert.True(report.DeviceUsable);
        Assert.Equal(12, report.ApiVersion);
        using var kvm = KvmSystem.Open();
        foreach (var capability in report.Capabilities)
            Assert.Equal(kvm.CheckExtension(capability.Capability), capability.Value);
        bool pvmLoaded = Directory.Exists("/sys/module/kvm_pvm");
        Assert.Equal(pvmLoaded, report.IsSoftware);
        string text = report.Render();
        Assert.Contains(pvmLoaded ? "SOFTWARE KVM (kvm_pvm" : "hardware KVM", text);
        Assert.Contains("IoEventFd", text);
        Assert.Contains("SplitIrqchip", text);
    }
}
