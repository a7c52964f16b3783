using Ember.Kvm;
using Ember.Memory;

namespace Ember.Vmm.Host;

/// <summary>
/// A throwaway VM for host probes: 64 KiB of RAM at 0, one vCPU in real mode with every segment base 0,
/// starting at <see cref="CodeAddress"/> with its stack below 0xF000. A probe writes its code, runs the vCPU
/// and reads what the guest left; nothing of the machine Ember builds is involved.
/// </summary>
internal sealed class RealModeProbeVm : IDisposable
{
    public const ushort CodeAddress = 0x100;
    private const ulong MemorySize = 0x1_0000;

    private readonly VirtualMachine _vm;
    private readonly MmapGuestMemory _memory;

    public RealModeProbeVm(KvmSystem kvm, ReadOnlySpan<byte> code)
    {
        _memory = MmapGuestMemory.Create((new GuestAddress(0), MemorySize));
        try
        {
            _vm = kvm.CreateVirtualMachine();
        }
        catch
        {
            _memory.Dispose();
            throw;
        }
        try
        {
            var region = _memory.MappedRegions[0];
            _vm.SetUserMemoryRegion(0, 0, region.Size, region.HostAddress);
            try
            {
                // Intel without unrestricted guest needs these for real mode; elsewhere they are accepted or refused harmlessly.
                _vm.SetIdentityMapAddress(Layout.IdentityMapPage);
                _vm.SetTssAddress(Layout.RealModeTss);
            }
            catch (KvmException)
            {
            }
            _memory.Write(new GuestAddress(CodeAddress), code);
            Vcpu = _vm.CreateVcpu(0);
        }
        catch
        {
            _vm.Dispose();
            _memory.Dispose();
            throw;
        }
    }

    public VirtualCpu Vcpu { get; }

    public IGuestMemory Memory => _memory;

    /// <summary>Points the vCPU at the code (flat real mode, interrupts off) and runs it until its first exit.</summary>
    public VcpuExit Run()
    {
        var sregs = Vcpu.GetSpecialRegisters();
        sregs.Cs.Base = sregs.Ds.Base = sregs.Es.Base = sregs.Ss.Base = 0;
        sregs.Cs.Selector = sregs.Ds.Selector = sregs.Es.Selector = sregs.Ss.Selector = 0;
        Vcpu.SetSpecialRegisters(sregs);
        Vcpu.SetRegisters(new Registers { Rip = CodeAddress, Rsp = 0xF000, Rflags = 0x2 });
        return Vcpu.Run();
    }

    public void Dispose()
    {
        Vcpu.Dispose();
        _vm.Dispose();
        _memory.Dispose();
    }
}
