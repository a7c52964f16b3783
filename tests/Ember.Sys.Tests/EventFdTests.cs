namespace Ember.Sys.Tests;

public sealed class EventFdTests
{
    [Fact]
    public void SignalsAddUpAndADrainResetsTheCounter()
    {
        using var eventFd = new EventFd();
        Assert.Equal(0UL, eventFd.Drain());
        eventFd.Signal();
        eventFd.Signal(4);
        Assert.Equal(5UL, eventFd.Drain());
        Assert.Equal(0UL, eventFd.Drain());
    }

    [Fact]
    public void InSemaphoreModeEachDrainTakesOne()
    {
        using var eventFd = new EventFd(semaphore: true);
        eventFd.Signal(2);
        Assert.Equal(1UL, eventFd.Drain());
        Assert.Equal(1UL, eventFd.Drain());
        Assert.Equal(0UL, eventFd.Drain());
    }

    [Fact]
    public void ADisposedEventFdRefusesWork()
    {
        var eventFd = new EventFd();
        eventFd.Dispose();
        Assert.True(eventFd.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => eventFd.Signal());
    }
}
