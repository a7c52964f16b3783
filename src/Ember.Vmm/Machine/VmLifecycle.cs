using Ember.Sys;

namespace Ember.Vmm.Machine;

/// <summary>
/// The machine's lifecycle state machine: NotStarted → Running ⇄ Paused → Stopped. Commands that change the state
/// are serialised here (one at a time, whatever thread sends them); a stop may come at any moment from the guest
/// and wins over everything. Pausing closes the vCPU gate (every vCPU out of KVM_RUN, parked) and then quiesces
/// the device I/O loops; resuming undoes both in the opposite order, so no device works for a parked guest and no
/// vCPU runs before its devices do.
/// </summary>
internal sealed class VmLifecycle(VcpuPauseGate gate, Action kickAllVcpus, IReadOnlyList<EventLoop> deviceLoops)
{
    private readonly object _command = new();
    private volatile VmState _state = VmState.NotStarted;

    private volatile bool _stopped;

    /// <summary>The current state; Stopped as soon as anything stopped the machine.</summary>
    public VmState State => _stopped ? VmState.Stopped : _state;

    /// <summary>NotStarted → Running; throws <see cref="VmStateException"/> otherwise.</summary>
    public void Start(Action startThreads)
    {
        lock (_command)
        {
            if (_state != VmState.NotStarted)
                throw Refused("start", _state);
            startThreads();
            _state = VmState.Running;
        }
    }

    /// <summary>Running → Paused: returns once every vCPU is parked and the device loops are quiet.</summary>
    public void Pause(TimeSpan timeout)
    {
        lock (_command)
        {
            if (State != VmState.Running)
                throw Refused("pause", State);
            if (!gate.Close(kickAllVcpus, timeout))
            {
                gate.Open();
                throw new TimeoutException($"the vCPUs did not leave KVM_RUN within {timeout.TotalSeconds:0.#} s; the machine keeps running");
            }
            int paused = 0;
            foreach (var loop in deviceLoops)
            {
                if (!loop.Pause(timeout))
                {
                    for (int i = 0; i <= paused; i++)
                        deviceLoops[i].Resume();
                    gate.Open();
                    throw new TimeoutException($"a device I/O thread did not become idle within {timeout.TotalSeconds:0.#} s; the machine keeps running");
                }
                paused++;
            }
            _state = VmState.Paused;
        }
    }

    /// <summary>Paused → Running: the guest continues exactly where it stopped.</summary>
    public void Resume()
    {
        lock (_command)
        {
            if (State != VmState.Paused)
                throw Refused("resume", State);
            foreach (var loop in deviceLoops)
                loop.Resume();
            _state = VmState.Running;
            gate.Open();
        }
    }

    /// <summary>The machine stopped (any state → Stopped). Called from whatever thread stopped it; never blocks on a command.</summary>
    public void MarkStopped()
    {
        _stopped = true;
        // Parked vCPUs see the stop and end; a paused device loop ends when the machine disposes it.
        gate.Wake();
    }

    private VmStateException Refused(string command, VmState state) => new(state, state switch
    {
        VmState.NotStarted => $"cannot {command} the machine: it has not been started",
        VmState.Running when command == "start" => "cannot start the machine: it is already running",
        VmState.Running => $"cannot {command} the machine: it is running",
        VmState.Paused when command == "start" => "cannot start the machine: it was started and is paused",
        VmState.Paused => $"cannot {command} the machine: it is already paused",
        _ => $"cannot {command} the machine: it has stopped",
    });
}
