namespace Ember.Vmm.Host;

/// <summary>What kind of KVM backs /dev/kvm on this host.</summary>
public enum KvmFlavour
{
    /// <summary>No usable /dev/kvm.</summary>
    Absent,
    /// <summary>Intel VT-x (kvm_intel).</summary>
    HardwareIntel,
    /// <summary>AMD-V (kvm_amd).</summary>
    HardwareAmd,
    /// <summary>kvm_pvm: a software KVM without VMX/SVM; guest supervisor code is emulated.</summary>
    SoftwarePvm,
    /// <summary>/dev/kvm works but the backing module is not one we recognise.</summary>
    Unknown,
}
