using Ember.Kvm;

namespace Ember.Kvm.Tests;

/// <summary>KVM tests run wherever /dev/kvm can be opened and are skipped, with a reason, only where it cannot.</summary>
internal static class KvmRequirement
{
    public static void Check() => Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");

    /// <summary>
    /// True on kvm_pvm, the software KVM that runs guest kernel code in KVM's instruction emulator; some
    /// documented behaviour differs there (see docs/host-quirks.md), and tests say which rule they apply.
    /// </summary>
    public static bool IsSoftwareKvm => Directory.Exists("/sys/module/kvm_pvm");
}
