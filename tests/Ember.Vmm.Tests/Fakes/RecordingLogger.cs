using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Tests.Fakes;

/// <summary>Keeps every line written at or above its level, formatted, from any thread.</summary>
public sealed class RecordingLogger(LogLevel minimum = LogLevel.Trace) : ILogger, ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Text)> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
            _lines.Enqueue((logLevel, formatter(state, exception)));
    }

    // As its own factory: every category writes here.
    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
