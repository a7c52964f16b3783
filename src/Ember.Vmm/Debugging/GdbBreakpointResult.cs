namespace Ember.Vmm.Debugging;

/// <summary>How a Z or z request went: OK, an empty reply (this target cannot do that kind), or an error reply.</summary>
internal enum GdbBreakpointResult
{
    Done,
    Unsupported,
    Failed,
}
