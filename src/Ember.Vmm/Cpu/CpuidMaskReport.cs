namespace Ember.Vmm.Cpu;

/// <summary>
/// What <see cref="CpuidMaskProbe"/> found: of the features `--cpuid-mask` knows, which this host's KVM
/// offers and lets Ember hide, which stay visible to a guest after KVM_SET_CPUID2 clears them, and
/// which the host does not offer at all (nothing to hide).
/// </summary>
public sealed record CpuidMaskReport(IReadOnlyList<string> Hideable, IReadOnlyList<string> StaysVisible, IReadOnlyList<string> NotOffered)
{
    /// <summary>True when clearing <paramref name="feature"/> does not hide it from the guest here.</summary>
    public bool StaysVisibleWhenMasked(string feature) =>
        CpuidFeature.TryFind(feature, out var f) && StaysVisible.Contains(f.Name);

    /// <summary>One line for `ember doctor`.</summary>
    public string Render() => StaysVisible.Count == 0
        ? $"all {Hideable.Count} offered features can be hidden with --cpuid-mask"
        : $"{Hideable.Count} offered features can be hidden; these stay visible when masked: {string.Join(", ", StaysVisible)}";
}
