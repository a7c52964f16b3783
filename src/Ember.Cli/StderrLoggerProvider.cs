using Microsoft.Extensions.Logging;

namespace Ember.Cli;

/// <summary>
/// Writes log lines as "ember: message" to stderr, so they never mix with the guest console on
/// stdout. Deliberately tiny: no reflection, works under Native AOT.
/// </summary>
internal sealed class StderrLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new StderrLogger(minimum);

    public void Dispose()
    {
    }

    private sealed class StderrLogger(LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            string line = $"ember: {(logLevel >= LogLevel.Warning ? logLevel.ToString().ToLowerInvariant() + ": " : "")}{formatter(state, exception)}";
            if (exception is not null)
                line += $" ({exception.GetType().Name}: {exception.Message})";
            UserMessages.WriteRawLine(line);
        }
    }
}
