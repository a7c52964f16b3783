using System.Runtime.InteropServices;

namespace Ember.Sys;

/// <summary>One fd's subscription to an <see cref="EventLoop"/>; disposing it unsubscribes.</summary>
public sealed class EventSubscription : IDisposable
{
    private readonly EventLoop _loop;

    internal EventSubscription(EventLoop loop, SafeHandle fd, ulong token, Action<EpollEvents> handler)
    {
        _loop = loop;
        Fd = fd;
        Token = token;
        Handler = handler;
    }

    internal SafeHandle Fd { get; }

    internal ulong Token { get; }

    internal Action<EpollEvents> Handler { get; }

    public void Dispose() => _loop.Unsubscribe(this);
}
