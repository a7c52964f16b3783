namespace Ember.Sys.Tests;

public sealed class EventLoopTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(30);

    [Fact]
    public void CallsTheHandlerOfTheFdThatBecameReadyOnTheLoopThread()
    {
        using var loop = new EventLoop();
        using var quiet = new EventFd();
        using var busy = new EventFd();
        using var called = new ManualResetEventSlim();
        string? threadName = null;
        int quietCalls = 0;
        using var a = loop.Subscribe(quiet.Handle, EpollEvents.In, _ => Interlocked.Increment(ref quietCalls));
        using var b = loop.Subscribe(busy.Handle, EpollEvents.In, _ =>
        {
            busy.Drain();
            threadName = Thread.CurrentThread.Name;
            called.Set();
        });
        loop.Start(ThreadRole.DeviceIo, "test");
        busy.Signal();
        Assert.True(called.Wait(SafetyNet, TestContext.Current.CancellationToken), "the handler was never called");
        Assert.Equal("ember-device-io-test", threadName);
        Assert.Equal(0, Volatile.Read(ref quietCalls));
    }

    [Fact]
    public void AOneShotSubscriptionReportsOnceUntilModifyReArmsIt()
    {
        using var loop = new EventLoop();
        using var eventFd = new EventFd();
        using var reported = new SemaphoreSlim(0);
        int calls = 0;
        // Never drained: level-triggered, it would be reported again and again.
        using var subscription = loop.Subscribe(eventFd.Handle, EpollEvents.In | EpollEvents.OneShot, _ =>
        {
            Interlocked.Increment(ref calls);
            reported.Release();
        });
        loop.Start(ThreadRole.DeviceIo);
        eventFd.Signal();
        Assert.True(reported.Wait(SafetyNet, TestContext.Current.CancellationToken));
        // A round trip through the loop proves it went on without reporting the still-readable fd again.
        RoundTrip(loop);
        Assert.Equal(1, Volatile.Read(ref calls));

        loop.Modify(subscription, EpollEvents.In | EpollEvents.OneShot);
        Assert.True(reported.Wait(SafetyNet, TestContext.Current.CancellationToken));
        RoundTrip(loop);
        Assert.Equal(2, Volatile.Read(ref calls));

        // Removed: a modify finds nothing and does nothing.
        subscription.Dispose();
        loop.Modify(subscription, EpollEvents.In | EpollEvents.OneShot);
        RoundTrip(loop);
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    private static void RoundTrip(EventLoop loop)
    {
        using var probe = new EventFd();
        using var probed = new ManualResetEventSlim();
        using var _ = loop.Subscribe(probe.Handle, EpollEvents.In, _ => { probe.Drain(); probed.Set(); });
        probe.Signal();
        Assert.True(probed.Wait(SafetyNet, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task OnceUnsubscribeReturnsTheHandlerIsNotRunningAndNeverRunsAgain()
    {
        using var loop = new EventLoop();
        using var eventFd = new EventFd();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int running = 0, callsAfterUnsubscribe = 0;
        bool unsubscribed = false;
        var subscription = loop.Subscribe(eventFd.Handle, EpollEvents.In, _ =>
        {
            if (Volatile.Read(ref unsubscribed))
                Interlocked.Increment(ref callsAfterUnsubscribe);
            Interlocked.Increment(ref running);
            entered.Set();
            release.Wait(SafetyNet, TestContext.Current.CancellationToken);
            eventFd.Drain();
            Interlocked.Decrement(ref running);
        });
        loop.Start(ThreadRole.DeviceIo);
        eventFd.Signal();
        Assert.True(entered.Wait(SafetyNet, TestContext.Current.CancellationToken));
        var unsubscribe = Task.Run(() => subscription.Dispose(), TestContext.Current.CancellationToken);
        // Unsubscribe must wait for the running handler.
        var first = await Task.WhenAny(unsubscribe, Task.Delay(100, TestContext.Current.CancellationToken));
        Assert.NotSame(unsubscribe, first);
        release.Set();
        await unsubscribe.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
        Volatile.Write(ref unsubscribed, true);
        Assert.Equal(0, Volatile.Read(ref running));
        eventFd.Signal();
        // A second loop round trip proves the loop went past the signal without calling the old handler.
        using var probe = new EventFd();
        using var probed = new ManualResetEventSlim();
        using var _ = loop.Subscribe(probe.Handle, EpollEvents.In, _ => { probe.Drain(); probed.Set(); });
        probe.Signal();
        Assert.True(probed.Wait(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(0, Volatile.Read(ref callsAfterUnsubscribe));
    }

    [Fact]
    public void AHandlerFailingOnATornDownFdIsCountedAndTheLoopGoesOn()
    {
        using var loop = new EventLoop();
        using var failing = new EventFd();
        using var healthy = new EventFd();
        using var healthyCalled = new ManualResetEventSlim();
        using var a = loop.Subscribe(failing.Handle, EpollEvents.In, _ =>
        {
            failing.Drain();
            throw new SystemCallException("test", (int)Errno.EBADF);
        });
        using var b = loop.Subscribe(healthy.Handle, EpollEvents.In, _ => { healthy.Drain(); healthyCalled.Set(); });
        loop.Start(ThreadRole.DeviceIo);
        failing.Signal();
        healthy.Signal();
        Assert.True(healthyCalled.Wait(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(1, loop.HandlerFailures);
    }

    [Fact]
    public void DisposeStopsTheThreadAndRefusesNewSubscriptions()
    {
        var loop = new EventLoop();
        loop.Start(ThreadRole.Timers);
        Assert.Contains(VmmThreads.Snapshot(), t => t.Role == ThreadRole.Timers && t.Name == "ember-timers");
        loop.Dispose();
        using var eventFd = new EventFd();
        Assert.Throws<ObjectDisposedException>(() => loop.Subscribe(eventFd.Handle, EpollEvents.In, _ => { }));
    }

    [Fact]
    public void APausedLoopCallsNoHandlerAndServesWhatBecameReadyOnceResumed()
    {
        using var loop = new EventLoop();
        using var eventFd = new EventFd();
        int calls = 0;
        using var called = new ManualResetEventSlim();
        using var subscription = loop.Subscribe(eventFd.Handle, EpollEvents.In, _ =>
        {
            eventFd.Drain();
            Interlocked.Increment(ref calls);
            called.Set();
        });
        loop.Start(ThreadRole.DeviceIo);
        Assert.True(loop.Pause(SafetyNet), "the loop parks");
        Assert.True(loop.IsPaused);
        eventFd.Signal();
        Thread.Sleep(100);
        Assert.Equal(0, Volatile.Read(ref calls));
        loop.Resume();
        Assert.True(called.Wait(SafetyNet, TestContext.Current.CancellationToken), "the readiness that came while paused is served after the resume");
        Assert.False(loop.IsPaused);
    }

    [Fact]
    public async Task PauseWaitsForARunningHandlerToReturn()
    {
        using var loop = new EventLoop();
        using var eventFd = new EventFd();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int running = 0;
        using var subscription = loop.Subscribe(eventFd.Handle, EpollEvents.In, _ =>
        {
            Interlocked.Increment(ref running);
            entered.Set();
            release.Wait(SafetyNet);
            eventFd.Drain();
            Interlocked.Decrement(ref running);
        });
        loop.Start(ThreadRole.DeviceIo);
        eventFd.Signal();
        Assert.True(entered.Wait(SafetyNet, TestContext.Current.CancellationToken));
        var pause = Task.Run(() => loop.Pause(SafetyNet), TestContext.Current.CancellationToken);
        var first = await Task.WhenAny(pause, Task.Delay(100, TestContext.Current.CancellationToken));
        Assert.NotSame(pause, first);
        release.Set();
        Assert.True(await pause.WaitAsync(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(0, Volatile.Read(ref running));
        loop.Resume();
    }

    [Fact]
    public async Task DisposingAPausedLoopEndsItsThread()
    {
        var loop = new EventLoop();
        loop.Start(ThreadRole.DeviceIo);
        Assert.True(loop.Pause(SafetyNet));
        var dispose = Task.Run(loop.Dispose, TestContext.Current.CancellationToken);
        await dispose.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
    }
    [Fact]
    public void ChangeEventsTurnsReadinessOffAndOnWhileTheFdStaysReady()
    {
        using var loop = new EventLoop();
        using var eventFd = new EventFd();
        using var called = new ManualResetEventSlim();
        int calls = 0;
        EventSubscription? subscription = null;
        // The handler never drains the eventfd: it stays readable, and only the changed interest stops the calls.
        subscription = loop.Subscribe(eventFd.Handle, EpollEvents.None, _ =>
        {
            Interlocked.Increment(ref calls);
            loop.ChangeEvents(subscription!, EpollEvents.None);
            called.Set();
        });
        using var unsubscribeAtEnd = subscription;
        loop.Start(ThreadRole.DeviceIo);
        eventFd.Signal();
        RoundTrip(loop);
        Assert.Equal(0, Volatile.Read(ref calls));

        loop.ChangeEvents(subscription, EpollEvents.In);
        Assert.True(called.Wait(SafetyNet, TestContext.Current.CancellationToken), "turned on, the ready fd's handler runs");
        RoundTrip(loop);
        RoundTrip(loop);
        Assert.Equal(1, Volatile.Read(ref calls));

        subscription.Dispose();
        // A subscription that is gone is left alone.
        loop.ChangeEvents(subscription, EpollEvents.In);
        RoundTrip(loop);
        Assert.Equal(1, Volatile.Read(ref calls));
    }
}
