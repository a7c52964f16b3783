using System.Buffers.Binary;
using Ember.Kvm;
using Ember.Memory;

namespace Ember.Vmm.Host;

/// <summary>
/// Finds out whether a guest's int3 reaches Ember as a #BP debug exit when KVM_GUESTDBG_USE_SW_BP is set, as
/// the KVM API promises on Intel and AMD hardware. Not every host keeps that promise: under QEMU's TCG emulation
/// of AMD-V (the nested test VM) an int3 in the L2 guest is checked only against the INTn intercept, never against
/// the #BP exception intercept KVM sets, so it goes straight to the guest's own handler. The GDB stub then serves
/// software breakpoints with debug registers instead of patched int3s.
/// The probe is a throwaway real-mode VM: <c>int3; hlt</c>, with IVT vector 3 pointing at a second <c>hlt</c>.
/// A debug exit for vector 3 is a yes; a HLT (the guest took its own #BP) or anything else is a no.
/// </summary>
public static class BreakpointInterceptProbe
{
    private const ushort GuestHandler = 0x200;

    /// <summary>
    /// True where the GDB stub keeps software breakpoints as int3 bytes patched into guest memory: where an int3 is a
    /// #BP debug exit, and on kvm_pvm, whose emulator fails on a planted int3 in guest kernel code and the stub takes
    /// that failure as the hit. False where they live in debug registers instead.
    /// </summary>
    public static bool SoftwareBreakpointsUseInt3(KvmSystem kvm)
    {
        if (KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm)
            return true;
        try
        {
            return Int3ReachesEmber(kvm);
        }
        catch (KvmException)
        {
            // A probe VM this KVM would not make says nothing about int3: keep what the KVM API promises, rather
            // than fail the machine the user asked a debugger for.
            return true;
        }
    }

    public static bool Int3ReachesEmber(KvmSystem kvm)
    {
        ArgumentNullException.ThrowIfNull(kvm);
        using var probe = new RealModeProbeVm(kvm, [0xCC, 0xF4]);    // int3; hlt
        Span<byte> vector = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(vector, GuestHandler);  // IVT[3] = 0000:0200
        probe.Memory.Write(new GuestAddress(3 * 4), vector);
        probe.Memory.Write(new GuestAddress(GuestHandler), [0xF4]);    // hlt
        probe.Vcpu.SetGuestDebug(new GuestDebug { Control = GuestDebug.Enable | GuestDebug.UseSoftwareBreakpoints });
        var exit = probe.Run();
        return exit.Reason == VcpuExitReason.Debug && exit.Debug.Exception == 3;
    }
}
