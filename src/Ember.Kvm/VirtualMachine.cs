using Ember.Kvm.Interop;
using Ember.Sys;

namespace Ember.Kvm;

/// <summary>
/// A KVM VM fd: memory slots, vCPU creation, in-kernel or split irqchip, GSI routing, irqfd,
/// ioeventfd and MSI signalling. One method per ioctl.
/// </summary>
public sealed unsafe class VirtualMachine : KvmFileDescriptor
{
    private readonly int _vcpuMmapSize;

    internal VirtualMachine(FileDescriptorHandle handle, int vcpuMmapSize) : base(handle) => _vcpuMmapSize = vcpuMmapSize;

    /// <summary>KVM_CHECK_EXTENSION on the VM fd (KVM_CAP_CHECK_EXTENSION_VM): the answer for this VM.</summary>
    public int CheckExtension(KvmCapability capability) => IoctlValue(KvmIoctls.CheckExtension, (nint)capability, "KVM_CHECK_EXTENSION");

    public bool HasCapability(KvmCapability capability) => CheckExtension(capability) > 0;

    /// <summary>KVM_SET_USER_MEMORY_REGION: maps host memory at <paramref name="hostAddress"/> as guest RAM.</summary>
    public void SetUserMemoryRegion(uint slot, ulong guestAddress, ulong size, nint hostAddress, bool readOnly = false, bool logDirtyPages = false)
    {
        var region = new UserspaceMemoryRegion
        {
            Slot = slot,
            Flags = (readOnly ? UserspaceMemoryRegion.FlagReadOnly : 0) | (logDirtyPages ? UserspaceMemoryRegion.FlagLogDirtyPages : 0),
            GuestPhysAddr = guestAddress,
            MemorySize = size,
            UserspaceAddr = (ulong)hostAddress,
        };
        IoctlRef(KvmIoctls.SetUserMemoryRegion, ref region, "KVM_SET_USER_MEMORY_REGION");
    }

    /// <summary>Deletes a memory slot (KVM_SET_USER_MEMORY_REGION with size 0).</summary>
    public void RemoveUserMemoryRegion(uint slot)
    {
        var region = new UserspaceMemoryRegion { Slot = slot };
        IoctlRef(KvmIoctls.SetUserMemoryRegion, ref region, "KVM_SET_USER_MEMORY_REGION");
    }

    /// <summary>KVM_CREATE_VCPU with the given APIC ID and the vCPU's kvm_run mapping.</summary>
    public VirtualCpu CreateVcpu(uint id)
    {
        int fd = IoctlValue(KvmIoctls.CreateVcpu, (nint)id, "KVM_CREATE_VCPU");
        return new VirtualCpu(new FileDescriptorHandle(fd), id, _vcpuMmapSize);
    }

    /// <summary>KVM_SET_TSS_ADDR: three pages of guest physical space KVM uses on Intel for real-mode emulation.</summary>
    public void SetTssAddress(ulong address) => IoctlValue(KvmIoctls.SetTssAddr, (nint)address, "KVM_SET_TSS_ADDR");

    /// <summary>KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map on Intel.</summary>
    public void SetIdentityMapAddress(ulong address) => IoctlRef(KvmIoctls.SetIdentityMapAddr, ref address, "KVM_SET_IDENTITY_MAP_ADDR");

    /// <summary>KVM_CREATE_IRQCHIP: in-kernel PIC pair, IOAPIC and per-vCPU LAPICs, with default GSI routes.</summary>
    public void CreateIrqchip() => IoctlValue(KvmIoctls.CreateIrqchip, 0, "KVM_CREATE_IRQCHIP");

    /// <summary>KVM_CREATE_PIT2: the in-kernel 8254 (needs the in-kernel irqchip).</summary>
    public void CreatePit2(bool speakerDummy = true)
    {
        var config = new PitConfig { Flags = speakerDummy ? PitConfig.FlagSpeakerDummy : 0 };
        IoctlRef(KvmIoctls.CreatePit2, ref config, "KVM_CREATE_PIT2");
    }

    /// <summary>KVM_IRQ_LINE: drives GSI <paramref name="gsi"/> of the in-kernel irqchip.</summary>
    public void SetIrqLine(uint gsi, bool high)
    {
        var level = new IrqLevel { IrqOrStatus = gsi, Level = high ? 1u : 0u };
        IoctlRef(KvmIoctls.IrqLine, ref level, "KVM_IRQ_LINE");
    }

    /// <summary>KVM_ENABLE_CAP on the VM.</summary>
    public void EnableCapability(KvmCapability capability, ulong arg0 = 0, ulong arg1 = 0, ulong arg2 = 0, ulong arg3 = 0)
    {
        var request = new EnableCapRequest { Cap = (uint)capability };
        request.Args[0] = arg0;
        request.Args[1] = arg1;
        request.Args[2] = arg2;
        request.Args[3] = arg3;
        IoctlRef(KvmIoctls.EnableCap, ref request, $"KVM_ENABLE_CAP({capability})");
    }

    /// <summary>
    /// KVM_CAP_SPLIT_IRQCHIP: LAPICs in the kernel, IOAPIC/PIC/PIT in user space. The first
    /// <paramref name="reservedIoapicRoutes"/> GSIs are MSI routes owned by the user-space IOAPIC, and
    /// an EOI for a level-triggered one exits with KVM_EXIT_IOAPIC_EOI. Must precede vCPU creation.
    /// </summary>
    public void EnableSplitIrqchip(uint reservedIoapicRoutes) => EnableCapability(KvmCapability.SplitIrqchip, reservedIoapicRoutes);

    /// <summary>KVM_CAP_X2APIC_API flags: 1 = 32-bit APIC IDs in routes, 2 = disable the broadcast quirk.</summary>
    public void EnableX2ApicApi(ulong flags) => EnableCapability(KvmCapability.X2ApicApi, flags);

    /// <summary>
    /// KVM_IOEVENTFD (assign): a guest write matching <paramref name="registration"/> signals
    /// <paramref name="eventFd"/> inside the kernel instead of exiting to user space.
    /// </summary>
    public void RegisterIoEvent(EventFd eventFd, IoEventRegistration registration) => IoEvent(eventFd, registration, deassign: false);

    /// <summary>KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DEASSIGN: the same fd/address/length/datamatch as registered.</summary>
    public void UnregisterIoEvent(EventFd eventFd, IoEventRegistration registration) => IoEvent(eventFd, registration, deassign: true);

    private void IoEvent(EventFd eventFd, IoEventRegistration registration, bool deassign)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        uint length = registration.Length;
        if (length is not (0 or 1 or 2 or 4 or 8))
            throw new ArgumentOutOfRangeException(nameof(registration), $"ioeventfd length must be 0, 1, 2, 4 or 8, not {length}");
        if (length == 0)
        {
            // api.rst: a zero-length ioeventfd needs KVM_CAP_IOEVENTFD_ANY_LENGTH, and a datamatch
            // without a length has nothing to compare.
            if (registration.Datamatch is not null)
                throw new ArgumentException("a zero-length ioeventfd cannot have a datamatch", nameof(registration));
            if (!HasCapability(KvmCapability.IoEventFdAnyLength))
                throw new KvmException("KVM_IOEVENTFD", Errno.EINVAL, "KVM_IOEVENTFD: zero length needs KVM_CAP_IOEVENTFD_ANY_LENGTH, which this host lacks");
        }
        if (registration.Space == IoEventAddressSpace.Pio && registration.Address > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(registration), "a PIO ioeventfd address must be a 16-bit port");

        var request = new IoEventFdRequest
        {
            Datamatch = registration.Datamatch ?? 0,
            Addr = registration.Address,
            Len = length,
            Fd = eventFd.Handle.Fd,
            Flags = (registration.Datamatch is not null ? IoEventFdRequest.FlagDatamatch : 0)
                  | (registration.Space == IoEventAddressSpace.Pio ? IoEventFdRequest.FlagPio : 0)
                  | (deassign ? IoEventFdRequest.FlagDeassign : 0),
        };
        IoctlRef(KvmIoctls.IoEventFd, ref request, "KVM_IOEVENTFD");
    }

    /// <summary>
    /// KVM_IRQFD (assign): signalling <paramref name="eventFd"/> injects GSI <paramref name="gsi"/>.
    /// With <paramref name="resampleFd"/> the GSI is level-triggered: KVM de-asserts it on EOI and
    /// signals the resample fd so the device can re-assert if still pending (in-kernel irqchip only).
    /// </summary>
    public void RegisterIrqFd(EventFd eventFd, uint gsi, EventFd? resampleFd = null)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        var request = new IrqFdRequest
        {
            Fd = (uint)eventFd.Handle.Fd,
            Gsi = gsi,
            Flags = resampleFd is null ? 0 : IrqFdRequest.FlagResample,
            ResampleFd = resampleFd is null ? 0 : (uint)resampleFd.Handle.Fd,
        };
        IoctlRef(KvmIoctls.IrqFd, ref request, "KVM_IRQFD");
    }

    /// <summary>KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN.</summary>
    public void UnregisterIrqFd(EventFd eventFd, uint gsi)
    {
        ArgumentNullException.ThrowIfNull(eventFd);
        var request = new IrqFdRequest { Fd = (uint)eventFd.Handle.Fd, Gsi = gsi, Flags = IrqFdRequest.FlagDeassign };
        IoctlRef(KvmIoctls.IrqFd, ref request, "KVM_IRQFD");
    }

    /// <summary>KVM_SET_GSI_ROUTING: replaces the whole routing table.</summary>
    public void SetGsiRouting(ReadOnlySpan<GsiRoutingEntry> entries)
    {
        int bytes = sizeof(VariableArrayHeader) + entries.Length * sizeof(GsiRoutingEntry);
        byte* buffer = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            ((VariableArrayHeader*)buffer)->Count = (uint)entries.Length;
            // Safe because the buffer was sized for the header plus every entry.
            entries.CopyTo(new Span<GsiRoutingEntry>(buffer + sizeof(VariableArrayHeader), entries.Length));
            IoctlPointer(KvmIoctls.SetGsiRouting, buffer, "KVM_SET_GSI_ROUTING");
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(buffer);
        }
    }

    /// <summary>KVM_SIGNAL_MSI: injects one MSI. Returns &gt;0 when delivered, 0 when the guest blocked it.</summary>
    public int SignalMsi(ulong address, uint data)
    {
        var request = new MsiRequest { AddressLo = (uint)address, AddressHi = (uint)(address >> 32), Data = data };
        return IoctlRef(KvmIoctls.SignalMsi, ref request, "KVM_SIGNAL_MSI");
    }

    /// <summary>KVM_GET_IRQCHIP for chip 0 (master PIC), 1 (slave PIC) or 2 (IOAPIC).</summary>
    public IrqchipState GetIrqchip(uint chipId)
    {
        var state = new IrqchipState { ChipId = chipId };
        IoctlRef(KvmIoctls.GetIrqchip, ref state, "KVM_GET_IRQCHIP");
        return state;
    }

    public void SetIrqchip(IrqchipState state) => IoctlRef(KvmIoctls.SetIrqchip, ref state, "KVM_SET_IRQCHIP");

    public ClockData GetClock()
    {
        var clock = new ClockData();
        IoctlRef(KvmIoctls.GetClock, ref clock, "KVM_GET_CLOCK");
        return clock;
    }

    public void SetClock(ClockData clock) => IoctlRef(KvmIoctls.SetClock, ref clock, "KVM_SET_CLOCK");
}
