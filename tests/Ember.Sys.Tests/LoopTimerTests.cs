namespace Ember.Sys.Tests;

public sealed class LoopTimerTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(30);

    [Fact]
    public void FiresOnceOnTheLoopThreadAfterItsDelay()
    {
        using var loop = new EventLoop();
        loop.Start(ThreadRole.Timers);
        int fired = 0;
        string? thread = null;
        using var done = new ManualResetEventSlim();
        using var timer = new LoopTimer(loop, () =>
        {
            Interlocked.Increment(ref fired);
            thread = Thread.CurrentThread.Name;
            done.Set();
        });
        var armedAt = System.Diagnostics.Stopwatch.StartNew();
        timer.Arm(TimeSpan.FromMilliseconds(20));
        Assert.True(timer.IsArmed);
        Assert.True(done.Wait(SafetyNet, TestContext.Current.CancellationToken));
        // Never early: the kernel's timer fires at or after the deadline.
        Assert.True(armedAt.Elapsed >= TimeSpan.FromMilliseconds(20), $"fired after {armedAt.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal("ember-timers", thread);
        Assert.False(timer.IsArmed);
        Assert.Equal(1, Volatile.Read(ref fired));
    }

    [Fact]
    public void ArmIfIdleKeepsAnEarlierDeadlineAndArmReplacesIt()
    {
        using var loop = new EventLoop();
        using var timer = new LoopTimer(loop, () => { });
        timer.Arm(TimeSpan.FromHours(1));
        timer.ArmIfIdle(TimeSpan.FromMilliseconds(1));
        Assert.True(timer.IsArmed);
        using var fired = new ManualResetEventSlim();
        using var second = new LoopTimer(loop, fired.Set);
        second.Arm(TimeSpan.FromHours(1));
        second.Arm(TimeSpan.FromMilliseconds(1));
        loop.Start(ThreadRole.Timers);
        Assert.True(fired.Wait(SafetyNet, TestContext.Current.CancellationToken), "Arm did not replace the one-hour deadline");
        Assert.True(timer.IsArmed, "ArmIfIdle replaced the one-hour deadline");
    }

    [Fact]
    public void ACancelledTimerDoesNotFire()
    {
        using var loop = new EventLoop();
        int fired = 0;
        using var timer = new LoopTimer(loop, () => Interlocked.Increment(ref fired));
        timer.Arm(TimeSpan.FromMilliseconds(1));
        Thread.Sleep(20); // expired in the kernel, but the loop has not run yet
        timer.Cancel();
        using var marker = new ManualResetEventSlim();
        using var later = new LoopTimer(loop, marker.Set);
        later.Arm(TimeSpan.FromMilliseconds(5));
        loop.Start(ThreadRole.Timers);
        Assert.True(marker.Wait(SafetyNet, TestContext.Current.CancellationToken));
        Assert.Equal(0, Volatile.Read(ref fired));
    }
}
