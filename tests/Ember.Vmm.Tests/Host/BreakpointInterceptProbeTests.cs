using Ember.Kvm;
using Ember.Vmm.Host;

namespace Ember.Vmm.Tests.Host;

[Trait("Requires", "kvm")]
public sealed class BreakpointInterceptProbeTests
{
    [Fact]
    public void TheProbeSaysWhetherAGuestsInt3BecomesADebugExitOnThisKvm()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using var kvm = KvmSystem.Open();
        bool reaches = BreakpointInterceptProbe.Int3ReachesEmber(kvm);
        var flavour = KvmHostReport.DetectFlavour("/sys/module");
        TestContext.Current.TestOutputHelper?.WriteLine($"{flavour}: a guest's int3 {(reaches ? "is" : "is not")} a debug exit");
        // The same probe twice gives the same answer: it depends on the host, not on a race.
        Assert.Equal(reaches, BreakpointInterceptProbe.Int3ReachesEmber(kvm));
        if (Environment.GetEnvironmentVariable("EMBER_NESTED_KVM") == "1")
        {
            // The nested test VM (scripts/nested-kvm.sh): QEMU's TCG checks an int3 only against the INTn intercept.
            Assert.False(reaches, "QEMU's emulated AMD-V was seen to give a guest's int3 to the guest; it now reaches Ember");
            Assert.False(BreakpointInterceptProbe.SoftwareBreakpointsUseInt3(kvm));
        }
        else if (flavour is KvmFlavour.HardwareIntel or KvmFlavour.HardwareAmd)
        {
            // Intel and AMD hardware intercept #BP when KVM_GUESTDBG_USE_SW_BP is set (the KVM API's promise).
            Assert.True(reaches);
        }
        if (flavour == KvmFlavour.SoftwarePvm)
            Assert.True(BreakpointInterceptProbe.SoftwareBreakpointsUseInt3(kvm));
    }
}
