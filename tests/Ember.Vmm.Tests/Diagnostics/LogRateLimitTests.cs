using Ember.Vmm.Diagnostics;
using Ember.Vmm.Tests.Fakes;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Tests.Diagnostics;

/// <summary>The rate limit on guest-reachable log lines, on a manual clock: N lines a window, then one summary of the rest.</summary>
public sealed class LogRateLimitTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void AtMostTheBudgetPerWindowGetsThroughAndTheRestIsCounted()
    {
        var limit = new LogRateLimit(linesPerWindow: 3, window: TimeSpan.FromSeconds(1), time: _clock);
        var allowed = Enumerable.Range(0, 10).Select(_ => limit.TryAcquire(out long before) ? before : -1).ToList();
        Assert.Equal([0, 0, 0, -1, -1, -1, -1, -1, -1, -1], allowed);

        // Still inside the window: nothing more.
        _clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(limit.TryAcquire(out _));

        // A new window: the first line carries the count of the 8 held back.
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limit.TryAcquire(out long suppressed));
        Assert.Equal(8, suppressed);
        Assert.True(limit.TryAcquire(out suppressed));
        Assert.Equal(0, suppressed);
        Assert.Equal(0, limit.TakeSuppressed());
    }

    [Fact]
    public void TakeSuppressedReportsWhatWasHeldBackOnce()
    {
        var limit = new LogRateLimit(linesPerWindow: 1, time: _clock);
        for (int i = 0; i < 5; i++)
            limit.TryAcquire(out _);
        Assert.Equal(4, limit.TakeSuppressed());
        Assert.Equal(0, limit.TakeSuppressed());
    }

    [Fact]
    public void BadBudgetsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogRateLimit(linesPerWindow: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogRateLimit(window: TimeSpan.Zero));
    }

    [Fact]
    public void TheLoggerWritesTheSummaryBeforeTheNextLineAndAtTheEnd()
    {
        var log = new RecordingLogger(LogLevel.Debug);
        var site = new RateLimitedLogger(log, LogLevel.Debug, "test accesses", new LogRateLimit(linesPerWindow: 2, time: _clock));
        for (int i = 0; i < 7; i++)
        {
            if (site.TryBegin())
                log.LogDebug("line {N}", i);
        }
        Assert.Equal(["line 0", "line 1"], log.Lines.Select(l => l.Text));

        _clock.Advance(TimeSpan.FromSeconds(1));
        for (int i = 7; i < 10; i++)
        {
            if (site.TryBegin())
                log.LogDebug("line {N}", i);
        }
        site.Flush();
        site.Flush();

        Assert.Equal(
            ["line 0", "line 1", "suppressed 5 similar lines: test accesses", "line 7", "line 8", "suppressed 1 similar lines: test accesses"],
            log.Lines.Select(l => l.Text));
        Assert.All(log.Lines, l => Assert.Equal(LogLevel.Debug, l.Level));
    }

    [Fact]
    public void ALevelThatIsOffCountsNothing()
    {
        var log = new RecordingLogger(LogLevel.Warning);
        var limit = new LogRateLimit(linesPerWindow: 1, time: _clock);
        var site = new RateLimitedLogger(log, LogLevel.Debug, "quiet", limit);
        for (int i = 0; i < 100; i++)
            Assert.False(site.TryBegin());
        site.Flush();
        Assert.Empty(log.Lines);
        Assert.Equal(0, limit.TakeSuppressed());
    }
}
