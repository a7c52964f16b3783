using System.Runtime.InteropServices;

namespace Ember.Cli;

/// <summary>
/// SIGTERM, SIGHUP and SIGINT while `ember` runs a machine: each is caught (the runtime's default would end the
/// process with the terminal raw and the machine half-stopped), the first is remembered, and the owner's stop
/// action runs, so `ember` can say which signal ended it and exit with 128 + its number, as a shell reports it.
/// </summary>
internal sealed class SignalStop : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _lock = new();
    private (string Name, int Number)? _received;

    /// <param name="stop">Runs on each signal with its name (SIGTERM, ...), on a thread-pool thread.</param>
    public SignalStop(Action<string> stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        foreach (var (signal, name, number) in new[] { (PosixSignal.SIGTERM, "SIGTERM", 15), (PosixSignal.SIGHUP, "SIGHUP", 1), (PosixSignal.SIGINT, "SIGINT", 2) })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                lock (_lock)
                    _received ??= (name, number);
                stop(name);
            }));
        }
    }

    /// <summary>The first signal that arrived, if any.</summary>
    public (string Name, int Number)? Received
    {
        get
        {
            lock (_lock)
                return _received;
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
    }
}
