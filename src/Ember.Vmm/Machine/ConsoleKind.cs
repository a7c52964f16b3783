namespace Ember.Vmm.Machine;

/// <summary>Where the guest's COM1 goes.</summary>
public enum ConsoleKind
{
    /// <summary>Host stdin/stdout (raw terminal when stdin is a TTY).</summary>
    Stdio,
    /// <summary>Discarded; no input.</summary>
    None,
    /// <summary>Appended to a file; no input.</summary>
    File,
}
