namespace Ember.Vmm.Debugging;

/// <summary>How the GDB stub listens.</summary>
public enum GdbTransport
{
    /// <summary>A TCP port (<c>target remote HOST:PORT</c>).</summary>
    Tcp,

    /// <summary>A Unix socket path (<c>target remote PATH</c>).</summary>
    Unix,
}
