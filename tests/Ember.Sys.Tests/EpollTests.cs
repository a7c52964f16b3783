namespace Ember.Sys.Tests;

public sealed class EpollTests
{
    [Fact]
    public void ReportsTheTokenOfEachReadyFdAndNothingForIdleOnes()
    {
        using var epoll = new Epoll();
        using var first = new EventFd();
        using var second = new EventFd();
        epoll.Add(first.Handle, EpollEvents.In, token: 7);
        epoll.Add(second.Handle, EpollEvents.In, token: 9);
        Span<ReadyEvent> ready = stackalloc ReadyEvent[4];
        Assert.Equal(0, epoll.Wait(ready, timeoutMs: 0));

        second.Signal();
        Assert.Equal(1, epoll.Wait(ready, timeoutMs: 0));
        Assert.Equal(9UL, ready[0].Token);
        Assert.True(ready[0].Events.HasFlag(EpollEvents.In));
    }

    [Fact]
    public void ARemovedFdIsNoLongerReported()
    {
        using var epoll = new Epoll();
        using var eventFd = new EventFd();
        epoll.Add(eventFd.Handle, EpollEvents.In, token: 1);
        epoll.Remove(eventFd.Handle);
        eventFd.Signal();
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        Assert.Equal(0, epoll.Wait(ready, timeoutMs: 0));
    }

    [Fact]
    public void AddingAnFdTwiceIsATypedEexist()
    {
        using var epoll = new Epoll();
        using var eventFd = new EventFd();
        epoll.Add(eventFd.Handle, EpollEvents.In, token: 1);
        var error = Assert.Throws<SystemCallException>(() => epoll.Add(eventFd.Handle, EpollEvents.In, token: 2));
        Assert.Equal(Errno.EEXIST, error.Errno);
        Assert.Equal("epoll_ctl", error.Operation);
    }
}
