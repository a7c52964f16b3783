namespace Ember.Sys;

/// <summary>What <see cref="HostFile.Inspect"/> found at a path.</summary>
public enum HostFileKind
{
    Regular,
    Directory,
    Fifo,
    Device,
    Socket,
    Other,
    Missing,
    NoPermission,
    Unreadable,
}
