using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Diagnostics;

/// <summary>
/// One guest-reachable log call site: a logger, its level and a <see cref="LogRateLimit"/>. A caller writes its line
/// only when <see cref="TryBegin"/> says so, which first writes "suppressed K similar lines" for what the limit held
/// back. Nothing is counted while the level is off, so a quiet logger costs one IsEnabled check.
/// </summary>
public sealed class RateLimitedLogger(ILogger logger, LogLevel level, string site, LogRateLimit? limit = null)
{
    private readonly LogRateLimit _limit = limit ?? new LogRateLimit();

    public ILogger Logger => logger;

    public LogLevel Level => level;

    /// <summary>What the call site's lines are about, named in the summary line.</summary>
    public string Site => site;

    /// <summary>True when the caller may write its line now.</summary>
    public bool TryBegin()
    {
        if (!logger.IsEnabled(level) || !_limit.TryAcquire(out long suppressed))
            return false;
        if (suppressed > 0)
            VmmLog.Suppressed(logger, level, suppressed, site);
        return true;
    }

    /// <summary>Writes the summary of lines held back since the last one written, if any (at the end of the machine).</summary>
    public void Flush()
    {
        long suppressed = _limit.TakeSuppressed();
        if (suppressed > 0 && logger.IsEnabled(level))
            VmmLog.Suppressed(logger, level, suppressed, site);
    }
}
