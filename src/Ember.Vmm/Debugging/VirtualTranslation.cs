using Ember.Vmm.Cpu.Paging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// What <see cref="VcpuMemoryView.TranslateVirtual(ulong, Cpu.Paging.PageAccess)"/> found for one linear address, at one stop of the vCPU: the software
/// walk (page, size, rights, or the entry that faulted), the rights check for the access asked about, and KVM_TRANSLATE's
/// answer taken at the same stop, so a disagreement between the two is visible instead of hidden.
/// </summary>
public sealed record VirtualTranslation
{
    public required ulong LinearAddress { get; init; }

    public required PagingState State { get; init; }

    /// <summary>The walk's result; null when the address has no translation at all (see <see cref="Fault"/>).</summary>
    public PageTranslation? Translation { get; init; }

    /// <summary>Why the access cannot be made: no translation, or one that does not allow it. Null when it can.</summary>
    public PageFault? Fault { get; init; }

    /// <summary>KVM_TRANSLATE's physical address, or null where KVM says the address is unmapped.</summary>
    public ulong? KvmPhysicalAddress { get; init; }

    /// <summary>True when the access asked about is allowed.</summary>
    public bool IsAccessible => Fault is null;

    /// <summary>
    /// True when KVM_TRANSLATE maps the address exactly where the walk does, or neither maps it. KVM walks for a
    /// supervisor read, so with CR4.SMAP set it refuses user pages the walk maps; that shows up here as a disagreement.
    /// </summary>
    public bool AgreesWithKvm => Translation?.PhysicalAddress == KvmPhysicalAddress;

    public override string ToString() =>
        (Translation?.ToString() ?? Fault?.ToString() ?? $"linear 0x{LinearAddress:x}")
        + (Translation is not null && Fault is { } refused ? $"; {refused}" : "")
        + (AgreesWithKvm ? "" : $"; KVM_TRANSLATE says {(KvmPhysicalAddress is { } p ? $"0x{p:x}" : "unmapped")}");
}
