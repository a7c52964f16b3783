namespace Ember.Vmm.Debugging;

/// <summary>The type field of Z and z packets (GDB manual, "Packets": Z0 … Z4).</summary>
internal enum GdbBreakpointType
{
    Software = 0,
    Hardware = 1,
    WriteWatchpoint = 2,
    ReadWatchpoint = 3,
    AccessWatchpoint = 4,
}
