using Ember.Kvm;

namespace Ember.Kvm.Tests;

/// <summary>KVM tests run wherever /dev/kvm can be opened and are skipped, with a reason, only where it cannot.</summary>
internal static class KvmRequirement
{
    public static void Check() => Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
}
