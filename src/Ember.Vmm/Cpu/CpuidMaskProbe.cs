using System.Buffers.Binary;
using Ember.Kvm;
using Ember.Memory;
using Ember.Vmm.Host;

namespace Ember.Vmm.Cpu;

/// <summary>
/// Finds out which CPUID features this host lets Ember hide. Some KVMs (kvm_pvm) let a guest see the
/// host's real CPUID bits for features KVM does not emulate itself, whatever KVM_SET_CPUID2 says. So the
/// probe does what a guest would: a throwaway VM with 64 KiB of RAM and one vCPU gets Ember's guest CPUID
/// with every known feature cleared, runs a few real-mode CPUID instructions and halts, and the registers
/// it stored say which features are still there. Milliseconds on any host; nothing else is touched.
/// </summary>
public static class CpuidMaskProbe
{
    private const ushort ResultAddress = 0x800;

    /// <summary>The leaves the known features live in (function, subleaf).</summary>
    private static readonly (uint Function, uint Index)[] Leaves = [(1, 0), (7, 0), (0xD, 1), (0x8000_0001, 0)];

    public static CpuidMaskReport Run(KvmSystem kvm)
    {
        ArgumentNullException.ThrowIfNull(kvm);
        var supported = kvm.GetSupportedCpuid();
        var masked = GuestCpuid.Build(supported, apicId: 0, vcpuCount: 1, CpuidFeature.Known);
        var seen = RunGuest(kvm, masked);
        var hideable = new List<string>();
        var visible = new List<string>();
        var notOffered = new List<string>();
        foreach (var feature in CpuidFeature.Known)
        {
            if (!IsSet(supported, feature))
                notOffered.Add(feature.Name);
            else if (IsSet(seen, feature))
                visible.Add(feature.Name);
            else
                hideable.Add(feature.Name);
        }
        return new CpuidMaskReport(hideable, visible, notOffered);
    }

    /// <summary>Real-mode code: for each leaf, CPUID and store EAX, EBX, ECX, EDX (16 bytes per leaf); then HLT.</summary>
    public static byte[] GuestCode()
    {
        var code = new List<byte>();
        for (int i = 0; i < Leaves.Length; i++)
        {
            ushort result = (ushort)(ResultAddress + 16 * i);
            code.AddRange([0x66, 0xB8]);                         // mov eax, function
            code.AddRange(Le32(Leaves[i].Function));
            code.AddRange([0x66, 0xB9]);                         // mov ecx, subleaf
            code.AddRange(Le32(Leaves[i].Index));
            code.AddRange([0x0F, 0xA2]);                         // cpuid
            code.AddRange([0x66, 0xA3]);                         // mov [result], eax
            code.AddRange(Le16(result));
            code.AddRange([0x66, 0x89, 0x1E]);                   // mov [result + 4], ebx
            code.AddRange(Le16((ushort)(result + 4)));
            code.AddRange([0x66, 0x89, 0x0E]);                   // mov [result + 8], ecx
            code.AddRange(Le16((ushort)(result + 8)));
            code.AddRange([0x66, 0x89, 0x16]);                   // mov [result + 12], edx
            code.AddRange(Le16((ushort)(result + 12)));
        }
        code.Add(0xF4);                                          // hlt
        return [.. code];
    }

    private static CpuidEntry[] RunGuest(KvmSystem kvm, CpuidEntry[] cpuid)
    {
        using var probe = new RealModeProbeVm(kvm, GuestCode());
        probe.Vcpu.SetCpuid(cpuid);
        var exit = probe.Run();
        if (exit.Reason != VcpuExitReason.Hlt)
            throw new KvmException("CPUID probe", Ember.Sys.Errno.EIO, $"the CPUID probe guest stopped with {exit.Reason} instead of HLT");
        var memory = probe.Memory;
        var seen = new CpuidEntry[Leaves.Length];
        Span<byte> stored = stackalloc byte[16];
        for (int i = 0; i < Leaves.Length; i++)
        {
            memory.Read(new GuestAddress((ulong)(ResultAddress + 16 * i)), stored);
            seen[i] = new CpuidEntry
            {
                Function = Leaves[i].Function,
                Index = Leaves[i].Index,
                Eax = BinaryPrimitives.ReadUInt32LittleEndian(stored),
                Ebx = BinaryPrimitives.ReadUInt32LittleEndian(stored[4..]),
                Ecx = BinaryPrimitives.ReadUInt32LittleEndian(stored[8..]),
                Edx = BinaryPrimitives.ReadUInt32LittleEndian(stored[12..]),
            };
        }
        return seen;
    }

    private static bool IsSet(ReadOnlySpan<CpuidEntry> entries, CpuidFeature feature)
    {
        uint index = feature.Function switch { 0xD => 1, _ => 0 };
        foreach (var e in entries)
        {
            if (e.Function != feature.Function || e.Index != index)
                continue;
            uint value = feature.Register switch
            {
                CpuidRegister.Eax => e.Eax,
                CpuidRegister.Ebx => e.Ebx,
                CpuidRegister.Ecx => e.Ecx,
                _ => e.Edx,
            };
            return (value & (1u << feature.Bit)) != 0;
        }
        return false;
    }

    private static byte[] Le32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Le16(ushort value) => [(byte)value, (byte)(value >> 8)];
}
