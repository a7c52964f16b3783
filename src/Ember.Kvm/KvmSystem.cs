using System.Runtime.InteropServices;
using Ember.Kvm.Interop;
using Ember.Sys.Interop;
using Ember.Sys;

namespace Ember.Kvm;

/// <summary>
/// The /dev/kvm system fd: API version, capabilities, supported CPUID and MSRs, and VM creation.
/// </summary>
public sealed unsafe class KvmSystem : KvmFileDescriptor
{
    /// <summary>The only stable KVM API version (api.rst 4.1).</summary>
    public const int StableApiVersion = 12;

    public const string DefaultDevicePath = "/dev/kvm";

    /// <summary>Upper bound on entries we ask for in variable-length queries; KVM answers E2BIG above its own count.</summary>
    private const int MaxCpuidEntries = 256;
    private const int MaxMsrIndices = 4096;

    private KvmSystem(FileDescriptorHandle handle) : base(handle)
    {
    }

    /// <summary>Opens /dev/kvm and checks the API version.</summary>
    public static KvmSystem Open(string path = DefaultDevicePath)
    {
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC);
        var handle = fd >= 0 ? new FileDescriptorHandle(fd) : throw KvmException.FromLastError($"open {path}");
        var system = new KvmSystem(handle);
        int version = system.GetApiVersion();
        if (version != StableApiVersion)
        {
            system.Dispose();
            throw new KvmException("KVM_GET_API_VERSION", Errno.EINVAL, $"KVM API version {version} is not the stable version {StableApiVersion}");
        }
        return system;
    }

    /// <summary>True when /dev/kvm exists and can be opened read-write by this process.</summary>
    public static bool IsAvailable(string path = DefaultDevicePath)
    {
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0)
            return false;
        Libc.Close(fd);
        return true;
    }

    public int GetApiVersion() => IoctlValue(KvmIoctls.GetApiVersion, 0, "KVM_GET_API_VERSION");

    /// <summary>KVM_CHECK_EXTENSION: 0 when absent, otherwise a capability-specific positive value.</summary>
    public int CheckExtension(KvmCapability capability) => IoctlValue(KvmIoctls.CheckExtension, (nint)capability, "KVM_CHECK_EXTENSION");

    public bool HasCapability(KvmCapability capability) => CheckExtension(capability) > 0;

    public int GetVcpuMmapSize() => IoctlValue(KvmIoctls.GetVcpuMmapSize, 0, "KVM_GET_VCPU_MMAP_SIZE");

    /// <summary>KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can offer a guest on this host.</summary>
    public CpuidEntry[] GetSupportedCpuid() => GetCpuidList(KvmIoctls.GetSupportedCpuid, "KVM_GET_SUPPORTED_CPUID");

    private CpuidEntry[] GetCpuidList(nuint request, string name)
    {
        int bytes = sizeof(VariableArrayHeader) + MaxCpuidEntries * sizeof(CpuidEntry);
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            var header = (VariableArrayHeader*)buffer;
            header->Count = MaxCpuidEntries;
            IoctlPointer(request, buffer, name);
            // Safe because KVM wrote header->Count ≤ MaxCpuidEntries entries right after the header.
            var entries = new ReadOnlySpan<CpuidEntry>(buffer + sizeof(VariableArrayHeader), (int)Math.Min(header->Count, MaxCpuidEntries));
            return entries.ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_GET_MSR_INDEX_LIST: MSRs that KVM saves and restores for a vCPU.</summary>
    public uint[] GetMsrIndexList() => GetMsrList(KvmIoctls.GetMsrIndexList, "KVM_GET_MSR_INDEX_LIST");

    /// <summary>KVM_GET_MSR_FEATURE_INDEX_LIST: feature MSRs readable through the system fd.</summary>
    public uint[] GetMsrFeatureIndexList() => GetMsrList(KvmIoctls.GetMsrFeatureIndexList, "KVM_GET_MSR_FEATURE_INDEX_LIST");

    private uint[] GetMsrList(nuint request, string name)
    {
        int bytes = sizeof(uint) + MaxMsrIndices * sizeof(uint);
        byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            *(uint*)buffer = MaxMsrIndices;
            IoctlPointer(request, buffer, name);
            // Safe because KVM wrote at most MaxMsrIndices indices after the count.
            return new ReadOnlySpan<uint>(buffer + sizeof(uint), (int)Math.Min(*(uint*)buffer, MaxMsrIndices)).ToArray();
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_CREATE_VM with the default machine type.</summary>
    public VirtualMachine CreateVirtualMachine()
    {
        int fd = IoctlValue(KvmIoctls.CreateVm, 0, "KVM_CREATE_VM");
        return new VirtualMachine(new FileDescriptorHandle(fd), GetVcpuMmapSize());
    }
}
