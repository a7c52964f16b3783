using System.Collections.Concurrent;
using System.Text.Json;
using Ember.Devices.Legacy;
using Ember.Devices.RateLimiting;
using Ember.Sys;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Control;

/// <summary>
/// The control plane's one controller: a thread that carries out configuration and lifecycle commands one at a
/// time, in the order they came, whatever thread (HTTP connection, configuration file, embedding program) sent
/// them. Each command is a method returning a task; it fails with <see cref="ResourceConfigException"/>
/// (bad resource), <see cref="VmStateException"/> (not allowed in this state) or
/// <see cref="VmCommandRefusedException"/> (not supported). Before InstanceStart it holds the
/// <see cref="VmResources"/>; at InstanceStart it builds the machine from them and starts it.
/// </summary>
public sealed class VmController : IDisposable
{
    private readonly BlockingCollection<Action> _commands = new(new ConcurrentQueue<Action>(), boundedCapacity: 1024);
    private readonly VmControllerOptions _options;
    private readonly ILogger _logger;
    private readonly VmResources _resources = new();
    private readonly TaskCompletionSource<MachineExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private MicroVm? _vm;
    private IDisposable? _consoleResource;
    private long _metricsFlushes;
    private Timer? _metricsTimer;

    public VmController(VmControllerOptions? options = null)
    {
        _options = options ?? new VmControllerOptions();
        _logger = _options.LoggerFactory.CreateLogger("Ember.Control");
        _thread = VmmThreads.Start(ThreadRole.Controller, null, Serve);
    }

    public string InstanceId => _options.InstanceId;

    /// <summary>NotStarted until InstanceStart, then the machine's own state.</summary>
    public VmState State => Volatile.Read(ref _vm)?.State ?? VmState.NotStarted;

    /// <summary>Completes with how the machine ended, once it was started and has stopped.</summary>
    public Task<MachineExit> Exited => _exited.Task;

    /// <summary>Commands carried out so far (for metrics).</summary>
    public long CommandsServed { get; private set; }

    private void Serve()
    {
        foreach (var command in _commands.GetConsumingEnumerable())
        {
            command();
            CommandsServed++;
        }
    }

    private Task<T> Post<T>(Func<T> command)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _commands.Add(() =>
            {
                try
                {
                    done.TrySetResult(command());
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            done.TrySetException(new VmCommandRefusedException("the controller has shut down"));
        }
        return done.Task;
    }

    private Task Post(Action command) => Post(() =>
    {
        command();
        return true;
    });

    private void RequireNotStarted(string what)
    {
        if (_vm is not null)
            throw new VmStateException(_vm.State, $"{what} can only be configured before the machine starts");
    }

    private MicroVm RequireStarted(string what) =>
        _vm ?? throw new VmStateException(VmState.NotStarted, $"{what} is only possible after the machine has started");

    public Task SetBootSource(BootSourceConfig bootSource) => Post(() =>
    {
        RequireNotStarted("the boot source");
        _resources.SetBootSource(bootSource);
    });

    public Task SetMachineSize(MachineSizeConfig size) => Post(() =>
    {
        RequireNotStarted("the machine configuration");
        _resources.SetMachineSize(size);
    });

    /// <summary>Changes only what <paramref name="update"/> changes of the current machine configuration (PATCH).</summary>
    public Task UpdateMachineSize(Func<MachineSizeConfig, MachineSizeConfig> update) => Post(() =>
    {
        RequireNotStarted("the machine configuration");
        _resources.SetMachineSize(update(_resources.MachineSize));
    });

    public Task<MachineSizeConfig> GetMachineSize() => Post(() => _resources.MachineSize);

    public Task PutDrive(DriveResource drive) => Post(() =>
    {
        RequireNotStarted("a drive");
        _resources.PutDrive(drive);
    });

    /// <summary>
    /// PATCH of a drive after start: a new backing file (swapped under the running guest) and new rate-limiter
    /// buckets (each bucket given replaces the running one; one left out stays).
    /// </summary>
    public Task UpdateDrive(string driveId, string? pathOnHost, RateLimiterSettings? rateLimiter = null) => Post(() =>
    {
        var vm = RequireStarted("updating a drive");
        if (_resources.Drives.All(d => d.DriveId != driveId))
            throw new ResourceConfigException($"drive_id: there is no drive '{driveId}'");
        if (pathOnHost is not null)
        {
            ResourceFiles.RequireReadable("path_on_host", "drive image", pathOnHost);
            try
            {
                vm.Virtio.ReplaceDiskImage(driveId, pathOnHost);
            }
            catch (MachineConfigurationException e)
            {
                throw new ResourceConfigException($"path_on_host: {e.Message}");
            }
            _resources.ReplaceDrivePath(driveId, pathOnHost);
        }
        if (rateLimiter is not null)
        {
            vm.Virtio.UpdateDiskRateLimiter(driveId, rateLimiter);
            _resources.ReplaceDriveRateLimiter(driveId, vm.Virtio.DiskRateLimiter(driveId)!.Settings);
        }
    });

    public Task PutNetworkInterface(NetworkInterfaceResource network) => Post(() =>
    {
        RequireNotStarted("a network interface");
        _resources.PutNetworkInterface(network);
    });

    /// <summary>
    /// PATCH of a network interface after start: new rx and tx rate-limiter buckets (each bucket given replaces
    /// the running one; a limiter or bucket left out stays).
    /// </summary>
    public Task UpdateNetworkInterface(string ifaceId, RateLimiterSettings? receive, RateLimiterSettings? transmit) => Post(() =>
    {
        var vm = RequireStarted("updating a network interface");
        if (_resources.NetworkInterfaces.All(n => n.IfaceId != ifaceId))
            throw new ResourceConfigException($"iface_id: there is no network interface '{ifaceId}'");
        if (receive is null && transmit is null)
            return;
        try
        {
            vm.Virtio.UpdateNetworkRateLimiters(ifaceId, receive, transmit);
        }
        catch (MachineConfigurationException e)
        {
            throw new ResourceConfigException($"iface_id: {e.Message}");
        }
        var (rx, tx) = vm.Virtio.NetworkRateLimiters(ifaceId)!.Value;
        _resources.ReplaceNetworkRateLimiters(ifaceId, receive is null ? null : rx.Settings, transmit is null ? null : tx.Settings);
    });

    public Task SetEntropy(RateLimiterSettings? rateLimiter = null) => Post(() =>
    {
        RequireNotStarted("the entropy device");
        _resources.SetEntropy(rateLimiter);
    });

    public Task SetVsock(VsockResource vsock) => Post(() =>
    {
        RequireNotStarted("the vsock device");
        _resources.SetVsock(vsock);
    });

    public Task SetLogger(LoggerResource logger) => Post(() =>
    {
        _resources.SetLogger(logger);
        _options.ConfigureLogger?.Invoke(logger);
    });

    public Task SetMetrics(MetricsResource metrics) => Post(() =>
    {
        if (_resources.Metrics is not null)
            throw new ResourceConfigException("metrics_path: the metrics system is already initialised");
        _resources.SetMetrics(metrics);
        if (_options.MetricsInterval > TimeSpan.Zero)
            _metricsTimer = new Timer(_ => FlushPeriodically(metrics.MetricsPath), null, _options.MetricsInterval, _options.MetricsInterval);
    });

    public Task SetSerial(SerialResource serial) => Post(() =>
    {
        RequireNotStarted("the serial console");
        _resources.SetSerial(serial);
    });

    public Task<VmResourcesSnapshot> GetConfiguration() => Post(() => new VmResourcesSnapshot(
        _resources.BootSource, _resources.MachineSize, _resources.Drives.ToList(), _resources.Entropy,
        _resources.Logger, _resources.Metrics, _resources.Serial, _resources.NetworkInterfaces.ToList(), _resources.Vsock, _resources.EntropyRateLimiter));

    /// <summary>InstanceStart: builds the machine from the resources and starts its vCPUs.</summary>
    public Task Start() => Post(() =>
    {
        if (_vm is not null)
            throw new VmStateException(_vm.State, "the machine was already started");
        var config = _resources.Build(_options.BootTimer) with { Name = _options.InstanceId };
        if (_options.AdjustMachine is { } adjust)
            config = adjust(config);
        if (config.Validate() is { } problem)
            throw new ResourceConfigException(problem);
        var console = _options.OpenConsole is { } open ? open(_resources.Serial) : DefaultConsole(_resources.Serial);
        MicroVm vm;
        try
        {
            vm = MicroVm.Create(config, console, _options.LoggerFactory, _options.StartTimestamp);
        }
        catch (Exception e) when (e is MachineConfigurationException or Boot.BootImageException)
        {
            ReleaseConsole(console);
            throw new ResourceConfigException(e.Message);
        }
        catch
        {
            ReleaseConsole(console);
            throw;
        }
        _consoleResource ??= console as IDisposable;
        vm.Start();
        Volatile.Write(ref _vm, vm);
        _logger.LogInformation("started {Id}: {Vcpus} vCPU, {Memory} MiB", InstanceId, config.VcpuCount, config.MemorySize >> 20);
        try
        {
            _options.Started?.Invoke(vm);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning("after the start: {Error}", e.Message);
        }
        vm.Exited.ContinueWith(t => _exited.TrySetResult(t.Result), TaskScheduler.Default);
    });

    public Task Pause() => Post(() => RequireStarted("pausing").Pause());

    public Task Resume() => Post(() => RequireStarted("resuming").Resume());

    /// <summary>Ember's extension: an NMI on every vCPU's LINT1. True if a vCPU took it.</summary>
    public Task<bool> SendNmi() => Post(() =>
    {
        var vm = RequireStarted("sending an NMI");
        if (vm.State != VmState.Running)
            throw new VmStateException(vm.State, "an NMI can only be sent to a running machine");
        return vm.InjectNmi();
    });

    public Task SendCtrlAltDel() => Post(() =>
    {
        var vm = RequireStarted("SendCtrlAltDel");
        if (vm.State != VmState.Running)
            throw new VmStateException(vm.State, "SendCtrlAltDel needs a running machine");
        if (!vm.SendCtrlAltDel())
            throw new VmCommandRefusedException("SendCtrlAltDel: the guest has not yet read the keys of the last one");
    });

    /// <summary>Writes one line of metrics as JSON to the metrics file.</summary>
    public Task FlushMetrics() => Post(() =>
    {
        var metrics = _resources.Metrics ?? throw new VmCommandRefusedException("FlushMetrics needs a metrics file: PUT /metrics or --metrics-path first");
        WriteMetricsLine(metrics.MetricsPath);
    });

    /// <summary>The periodic line goes through the controller thread like any command; a failure is logged, not thrown.</summary>
    private void FlushPeriodically(string path)
    {
        try
        {
            Post(() => WriteMetricsLine(path)).ContinueWith(
                t => _logger.LogWarning("periodic metrics line not written: {Reason}", t.Exception!.InnerException!.Message),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The controller is shutting down.
        }
    }

    private void WriteMetricsLine(string path)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("utc_timestamp_ms", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            json.WriteString("state", State.ToString());
            json.WriteStartObject("api_server");
            json.WriteNumber("commands", CommandsServed);
            json.WriteNumber("metrics_flushes", ++_metricsFlushes);
            json.WriteEndObject();
            if (_vm is { } vm)
            {
                vm.Metrics.WriteJson(json);
                json.WriteNumber("unclaimed_accesses", vm.UnclaimedAccesses);
            }
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        try
        {
            using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            buffer.Position = 0;
            buffer.CopyTo(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VmCommandRefusedException($"cannot write the metrics file {path}: {e.Message}");
        }
    }

    private ISerialOutput DefaultConsole(SerialResource? serial)
    {
        Stream stream;
        try
        {
            stream = serial?.SerialOutPath is { } path
                ? new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)
                : Console.OpenStandardOutput();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ResourceConfigException($"serial_out_path: cannot open {serial?.SerialOutPath}: {e.Message}");
        }
        _consoleResource = stream;
        return new StreamSerialOutput(stream);
    }

    private void ReleaseConsole(ISerialOutput console)
    {
        (console as IDisposable)?.Dispose();
        _consoleResource?.Dispose();
        _consoleResource = null;
    }

    /// <summary>Stops the machine (if any), ends the controller thread and releases everything.</summary>
    public void Dispose()
    {
        _metricsTimer?.Dispose();
        _commands.CompleteAdding();
        if (!ReferenceEquals(Thread.CurrentThread, _thread))
            _thread.Join();
        if (_vm is { } vm)
        {
            vm.Dispose();
            _exited.TrySetResult(vm.Exited.IsCompletedSuccessfully ? vm.Exited.Result : new MachineExit(MachineStopReason.HostRequest, "disposed"));
        }
        else
        {
            _exited.TrySetCanceled();
        }
        _consoleResource?.Dispose();
        _commands.Dispose();
    }
}
