using System.Runtime.InteropServices;
using Ember.Sys;
using Ember.Vmm.Machine;

namespace Ember.Cli;

/// <summary>
/// SIGTERM, SIGHUP and SIGINT during a run: the terminal goes back to how it was at once (a raw terminal
/// left behind is unusable), the machine is stopped, and `ember` says which signal ended it and exits
/// with 128 + its number, as a shell would report it.
/// </summary>
internal sealed class SignalStop : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];
    private (string Name, int Number)? _received;

    public SignalStop(MicroVm machine, RawTerminal? terminal)
    {
        foreach (var (signal, name, number) in new[] { (PosixSignal.SIGTERM, "SIGTERM", 15), (PosixSignal.SIGHUP, "SIGHUP", 1), (PosixSignal.SIGINT, "SIGINT", 2) })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                lock (_registrations)
                    _received ??= (name, number);
                terminal?.Restore();
                machine.RequestStop($"stopped by {name}");
            }));
        }
    }

    /// <summary>The first signal that arrived, if any.</summary>
    public (string Name, int Number)? Received
    {
        get { lock (_registrations) return _received; }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
    }
}
