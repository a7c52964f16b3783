namespace Ember.Sys;

/// <summary>EPOLL* event bits.</summary>
[Flags]
public enum EpollEvents : uint
{
    None = 0,
    In = 0x001,
    Out = 0x004,
    Error = 0x008,
    HangUp = 0x010,
    EdgeTriggered = 1u << 31,
}
