namespace Ember.Sys;

/// <summary>
/// What an Ember thread is for. Every thread Ember starts has one (see <see cref="VmmThreads"/>), so a
/// stack dump, `ps -L` and, later, a per-role seccomp filter can tell them apart.
/// </summary>
public enum ThreadRole
{
    /// <summary>Runs one vCPU's KVM_RUN loop.</summary>
    Vcpu,

    /// <summary>An event loop serving device backends (queues, sockets, TAP devices).</summary>
    DeviceIo,

    /// <summary>The event loop that serves the machine's host timers (PIT, kicks, retries).</summary>
    Timers,

    /// <summary>The control plane's HTTP server (REST API).</summary>
    Api,
    /// <summary>The controller: the one thread that carries out lifecycle and configuration commands, in order.</summary>
    Controller,

    /// <summary>Reads the host terminal for the guest's serial console.</summary>
    ConsoleInput,

    /// <summary>The GDB remote stub: its socket and the debugger's commands.</summary>
    Gdb,
}
