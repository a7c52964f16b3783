using Ember.Devices.Legacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ember.Vmm.Control;

/// <summary>What the program around a <see cref="VmController"/> decides: names, logging, where the console goes.</summary>
public sealed record VmControllerOptions
{
    /// <summary>The instance id (Firecracker's --id), reported by GET /.</summary>
    public string InstanceId { get; init; } = "anonymous-instance";

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Log the guest's boot time when it writes the boot-timer magic (Firecracker's --boot-timer).</summary>
    public bool BootTimer { get; init; }

    /// <summary>Process start, for boot-time figures.</summary>
    public long StartTimestamp { get; init; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>
    /// Opens the guest console for the serial resource (null: none was set). The default writes to standard output,
    /// or appends to serial_out_path. What it returns is disposed when the machine is.
    /// </summary>
    public Func<SerialResource?, ISerialOutput>? OpenConsole { get; init; }

    /// <summary>Called on the controller thread when a logger is configured (PUT /logger); throw ResourceConfigException to refuse.</summary>
    public Action<LoggerResource>? ConfigureLogger { get; init; }

    /// <summary>
    /// How often a metrics line is written once a metrics file is set (Firecracker writes one a minute), besides
    /// each FlushMetrics. Zero or less: only on FlushMetrics.
    /// </summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Called on the controller thread once InstanceStart has started the machine (e.g. to connect the console's
    /// input to it); it must not block, and what it throws is logged, never undoes the start.
    /// </summary>
    public Action<Machine.MicroVm>? Started { get; init; }

    /// <summary>Extra host-specific settings applied to the machine built at InstanceStart (tests, kvm_pvm).</summary>
    public Func<Machine.MachineConfig, Machine.MachineConfig>? AdjustMachine { get; init; }
}
