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

    /// <summary>
    /// EPOLLONESHOT: after one report the fd stays registered but silent until <see cref="EventLoop.Modify"/> re-arms
    /// it, so an owner that cannot act on readiness yet (a peer's hang-up included, which epoll reports whatever
    /// was asked for) is not woken again and again.
    /// </summary>
    OneShot = 1u << 30,
    EdgeTriggered = 1u << 31,
}
