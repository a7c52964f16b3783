using Ember.Sys;
namespace Ember.Kvm.Tests;

[Trait("Requires", "kvm")]
public sealed class SystemTests
{
    [Fact]
    public void ApiVersionIsTheStableTwelve()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        Assert.Equal(KvmSystem.StableApiVersion, kvm.GetApiVersion());
    }

    [Fact]
    public void CapabilitiesEveryKvmHasArePresent()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        Assert.True(kvm.HasCapability(KvmCapability.UserMemory));
        Assert.True(kvm.HasCapability(KvmCapability.IoEventFd));
        Assert.True(kvm.CheckExtension(KvmCapability.NrMemslots) > 0);
    }

    [Fact]
    public void VcpuMmapSizeCoversTheRunStructure()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        Assert.True(kvm.GetVcpuMmapSize() >= 4096);
    }

    [Fact]
    public void SupportedCpuidHasTheBasicLeafWithAVendor()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        var cpuid = kvm.GetSupportedCpuid();
        var leaf0 = Assert.Single(cpuid, e => e.Function == 0 && e.Index == 0);
        Assert.True(leaf0.Eax >= 1, "max basic leaf");
        Assert.Contains(cpuid, e => e.Function == 1);
    }

    [Fact]
    public void MsrIndexListIncludesTheTscAndTheSyscallMsrs()
    {
        KvmRequirement.Check();
        using var kvm = KvmSystem.Open();
        var msrs = kvm.GetMsrIndexList();
        Assert.Contains(0x10u, msrs);         // IA32_TIME_STAMP_COUNTER
        Assert.Contains(0xC000_0081u, msrs);  // IA32_STAR
        Assert.Contains(0xC000_0082u, msrs);  // IA32_LSTAR
    }

    [Fact]
    public void OpeningAMissingDeviceGivesATypedError()
    {
        var error = Assert.ThrowsAny<KvmException>(() => KvmSystem.Open("/nonexistent/kvm"));
        Assert.Equal(Errno.ENOENT, error.Errno);
    }
}
