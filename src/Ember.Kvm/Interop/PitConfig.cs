using System.Runtime.InteropServices;

namespace Ember.Kvm.Interop;

/// <summary><c>struct kvm_pit_config</c>, 64 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct PitConfig
{
    /// <summary>KVM_PIT_SPEAKER_DUMMY: the kernel PIT also claims port 0x61.</summary>
    public const uint FlagSpeakerDummy = 1;

    public uint Flags;
    public fixed uint Padding[15];
}
