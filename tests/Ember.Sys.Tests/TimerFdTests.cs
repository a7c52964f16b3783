namespace Ember.Sys.Tests;

public sealed class TimerFdTests
{
    [Fact]
    public void AnUnarmedTimerHasNoExpirations()
    {
        using var timer = new TimerFd();
        Assert.Equal(0UL, timer.Drain());
    }

    [Fact]
    public void AnArmedTimerWakesEpollWithItsTokenAndCountsOneExpiry()
    {
        using var epoll = new Epoll();
        using var timer = new TimerFd();
        epoll.Add(timer.Handle, EpollEvents.In, token: 42);
        timer.Arm(TimeSpan.FromMilliseconds(1));
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        // Blocks until the expiry (no time limit on the verdict: -1 waits as long as it takes).
        Assert.Equal(1, epoll.Wait(ready, timeoutMs: -1));
        Assert.Equal(42UL, ready[0].Token);
        Assert.Equal(1UL, timer.Drain());
        Assert.Equal(0UL, timer.Drain());
    }

    [Fact]
    public void APeriodicTimerKeepsExpiringAfterEachDrain()
    {
        using var timer = new TimerFd();
        using var epoll = new Epoll();
        epoll.Add(timer.Handle, EpollEvents.In, token: 1);
        timer.Arm(TimeSpan.FromMilliseconds(1), period: TimeSpan.FromMilliseconds(1));
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        for (int round = 0; round < 3; round++)
        {
            // A one-shot timer would leave the second round waiting: the 10 s limit is only a safety net.
            Assert.Equal(1, epoll.Wait(ready, timeoutMs: 10_000));
            Assert.True(timer.Drain() >= 1, $"round {round}: readable but no expiry counted");
        }
    }

    [Fact]
    public void DisarmingStopsFurtherExpiries()
    {
        using var timer = new TimerFd();
        timer.Arm(TimeSpan.FromHours(1));
        timer.Disarm();
        using var epoll = new Epoll();
        epoll.Add(timer.Handle, EpollEvents.In, token: 1);
        Span<ReadyEvent> ready = stackalloc ReadyEvent[1];
        Assert.Equal(0, epoll.Wait(ready, timeoutMs: 0));
    }
}
