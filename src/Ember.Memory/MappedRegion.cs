namespace Ember.Memory;

/// <summary>
/// A guest RAM region and the host address it is mapped at: exactly what the VMM passes to
/// KVM_SET_USER_MEMORY_REGION (guest_phys_addr = Start, memory_size = Size,
/// userspace_addr = HostAddress).
/// </summary>
public readonly record struct MappedRegion(GuestAddress Start, ulong Size, nint HostAddress)
{
    public GuestMemoryRegion Region => new(Start, Size);
}
