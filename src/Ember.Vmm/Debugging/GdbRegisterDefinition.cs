namespace Ember.Vmm.Debugging;

/// <summary>
/// One register as a target description declares it (GDB manual, "Target Descriptions"): its name, width in
/// bits, GDB type, group and feature. Its position in the layout is its number in p/P packets and its place in g/G.
/// </summary>
internal sealed record GdbRegisterDefinition(X86Register Register, string Name, int Bits, string Type, string Feature, string? Group = null)
{
    public int Bytes => Bits / 8;
}
