namespace Ember.Vmm.Debugging;

/// <summary>
/// A write watchpoint kept by single-stepping and comparing (where KVM does not deliver data breakpoints): the
/// watched bytes as last seen, read through the vCPU that set it.
/// </summary>
internal sealed class EmulatedWatchpoint(int vcpu, ulong address, int length)
{
    /// <summary>The most bytes one emulated watchpoint covers; each step compares them all.</summary>
    public const int MaxLength = 64;

    public int Vcpu { get; } = vcpu;

    public ulong Address { get; } = address;

    public int Length { get; } = length;

    /// <summary>The bytes last seen there (null until first read).</summary>
    public byte[]? Snapshot { get; set; }
}
