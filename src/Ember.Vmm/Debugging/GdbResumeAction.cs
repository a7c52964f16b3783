namespace Ember.Vmm.Debugging;

/// <summary>What one vCPU does when GDB resumes the target (c, s, vCont).</summary>
internal enum GdbResumeAction
{
    /// <summary>No action named it: it stays stopped.</summary>
    Stay,

    /// <summary>Runs until something stops the target.</summary>
    Continue,

    /// <summary>Runs one instruction, then the whole target stops.</summary>
    Step,
}
