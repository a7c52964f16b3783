using Ember.Vmm.Control;
using Microsoft.Extensions.Logging;

namespace Ember.Cli;

/// <summary>
/// The log for Firecracker's mode, which --level/--log-path set at start and PUT /logger may change later:
/// lines "time [id:category:LEVEL] message" (level shown with --show-level) to a file, or to stderr by default.
/// </summary>
internal sealed class ConfigurableLogProvider(string instanceId) : ILoggerProvider
{
    private readonly object _lock = new();
    private TextWriter _target = Console.Error;
    private LogLevel _minimum = LogLevel.Warning;
    private bool _showLevel;
    private bool _showOrigin;
    private bool _ownsTarget;

    /// <summary>Applies a logger resource: opens its file (appending), sets level and decoration. Throws ResourceConfigException.</summary>
    public void Apply(LoggerResource logger)
    {
        TextWriter? file = null;
        if (logger.LogPath is { } path)
        {
            try
            {
                file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ResourceConfigException($"log_path: cannot open {path}: {UserMessages.Describe(e)}");
            }
        }
        lock (_lock)
        {
            if (file is not null)
            {
                if (_ownsTarget)
                    _target.Dispose();
                _target = file;
                _ownsTarget = true;
            }
            _minimum = ParseLevel(logger.Level);
            _showLevel = logger.ShowLevel;
            _showOrigin = logger.ShowLogOrigin;
        }
    }

    public static LogLevel ParseLevel(string level) => level.ToLowerInvariant() switch
    {
        "error" => LogLevel.Error,
        "warning" or "warn" => LogLevel.Warning,
        "info" => LogLevel.Information,
        "debug" => LogLevel.Debug,
        "trace" => LogLevel.Trace,
        _ => LogLevel.None,
    };

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    private void Write(LogLevel level, string category, string message)
    {
        lock (_lock)
        {
            if (level < _minimum)
                return;
            string decoration = instanceId + (_showOrigin ? $":{category}" : "") + (_showLevel ? $":{Short(level)}" : "");
            try
            {
                _target.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffff}Z [{decoration}] {message}");
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
        }
    }

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.Error or LogLevel.Critical => "ERROR",
        LogLevel.Warning => "WARN",
        LogLevel.Information => "INFO",
        LogLevel.Debug => "DEBUG",
        _ => "TRACE",
    };

    public void Dispose()
    {
        lock (_lock)
        {
            if (_ownsTarget)
                _target.Dispose();
            _ownsTarget = false;
        }
    }

    private sealed class Logger(ConfigurableLogProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            string message = formatter(state, exception);
            if (exception is not null)
                message += $" ({exception.GetType().Name}: {exception.Message})";
            provider.Write(logLevel, category, message);
        }
    }
}
