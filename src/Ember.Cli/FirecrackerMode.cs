using System.CommandLine;
using Ember.Api;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Control;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Cli;

/// <summary>
/// `ember` with Firecracker's flags: what an orchestrator gets when it spawns `firecracker --api-sock X --id Y`
/// and finds Ember there. The REST API on the socket (or only the --config-file with --no-api), one microVM,
/// and the process ends with the machine.
/// </summary>
internal static class FirecrackerMode
{
    /// <summary>Firecracker's default socket when it is started without --api-sock.</summary>
    public const string DefaultApiSocket = "/run/firecracker.socket";

    private static readonly Option<string?> ApiSock = new("--api-sock") { Description = "Firecracker mode: serve Firecracker's REST API on this Unix socket." };
    private static readonly Option<string?> ConfigFile = new("--config-file") { Description = "Firecracker mode: configure the microVM from this JSON file (Firecracker's format) and start it." };
    private static readonly Option<bool> NoApi = new("--no-api") { Description = "Firecracker mode: no API socket (needs --config-file)." };
    private static readonly Option<string?> Id = new("--id") { Description = "Firecracker mode: the microVM's id (GET /)." };
    private static readonly Option<bool> BootTimer = new("--boot-timer") { Description = "Firecracker mode: log the guest's boot time when it writes 123 to MMIO 0xC0000000." };
    private static readonly Option<string?> Level = new("--level") { Description = "Firecracker mode: log level (Error, Warning, Info, Debug, Trace, Off)." };
    private static readonly Option<string?> LogPath = new("--log-path") { Description = "Firecracker mode: append the log to this file instead of stderr." };
    private static readonly Option<string?> MetricsPath = new("--metrics-path") { Description = "Firecracker mode: append metrics as JSON lines to this file." };
    private static readonly Option<bool> ShowLevel = new("--show-level") { Description = "Firecracker mode: show each log line's level." };
    private static readonly Option<bool> ShowLogOrigin = new("--show-log-origin") { Description = "Firecracker mode: show where each log line comes from." };
    private static readonly Option<string?> MaxPayload = new("--http-api-max-payload-size") { Description = "Firecracker mode: the largest request body the API takes, in bytes (51200)." };
    private static readonly Option<string?> Module = new("--module") { Description = "Firecracker mode: accepted for compatibility (log module filter)." };
    private static readonly Option<bool> NoSeccomp = new("--no-seccomp") { Description = "Firecracker mode: accepted; Ember installs no seccomp filter yet." };
    private static readonly Option<bool> EnablePci = new("--enable-pci") { Description = "Firecracker mode: accepted; Ember's virtio devices are always on PCI." };
    private static readonly Option<string?> StartTimeUs = new("--start-time-us") { Description = "Firecracker mode: accepted (the jailer's start time)." };
    private static readonly Option<string?> StartTimeCpuUs = new("--start-time-cpu-us") { Description = "Firecracker mode: accepted (the jailer's CPU start time)." };
    private static readonly Option<string?> ParentCpuTimeUs = new("--parent-cpu-time-us") { Description = "Firecracker mode: accepted (the jailer's CPU time)." };

    private static readonly Option[] FirecrackerOptions =
        [ApiSock, ConfigFile, NoApi, Id, BootTimer, Level, LogPath, MetricsPath, ShowLevel, ShowLogOrigin, MaxPayload, Module, NoSeccomp, EnablePci, StartTimeUs, StartTimeCpuUs, ParentCpuTimeUs];

    public static void AddTo(RootCommand root)
    {
        foreach (var option in FirecrackerOptions)
            root.Options.Add(option);
        root.SetAction(Execute);
    }

    /// <summary>Started under the name `firecracker` (a link), Ember behaves as Firecracker does with no flags.</summary>
    private static bool InvokedAsFirecracker =>
        Path.GetFileName(Environment.GetCommandLineArgs().FirstOrDefault() ?? "") == "firecracker"
        || Path.GetFileName(Environment.ProcessPath ?? "") == "firecracker";

    private static int Fail(string message)
    {
        UserMessages.Error(message);
        return ExitStatus.UsageError;
    }

    private static int Execute(ParseResult result)
    {
        bool anyFlag = FirecrackerOptions.Any(option => result.GetResult(option) is { Implicit: false });
        if (!anyFlag && !InvokedAsFirecracker)
            return Fail("a command is needed: run, image or doctor, or Firecracker's --api-sock/--config-file (see `ember --help`)");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        string? configFile = result.GetValue(ConfigFile);
        bool noApi = result.GetValue(NoApi);
        if (noApi && configFile is null)
            return Fail("--no-api needs --config-file: without the API, the file is the only way to configure the microVM");
        string socket = result.GetValue(ApiSock) ?? DefaultApiSocket;
        long maxPayload = ApiServer.DefaultMaxPayloadSize;
        if (result.GetValue(MaxPayload) is { } payloadText
            && (!long.TryParse(payloadText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out maxPayload) || maxPayload < 1))
            return Fail($"--http-api-max-payload-size needs a positive number of bytes, not '{payloadText}'");
        string id = result.GetValue(Id) ?? "anonymous-instance";
        if (id.Length is 0 or > 64 || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-')))
            return Fail($"--id '{id}' must be 1 to 64 letters, digits or hyphens");
        byte[]? configJson = null;
        if (configFile is not null)
        {
            var (kind, size) = HostFile.Inspect(configFile);
            if (kind != HostFileKind.Regular)
                return Fail($"the configuration file {configFile} {(kind == HostFileKind.Missing ? "does not exist" : "is not a regular file")}");
            if (size > 1 << 20)
                return Fail($"the configuration file {configFile} is {size} bytes; at most 1 MiB is read");
            try
            {
                configJson = File.ReadAllBytes(configFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot read the configuration file {configFile}: {UserMessages.Describe(e)}");
            }
        }
        if (!KvmSystem.IsAvailable())
            return Fail("/dev/kvm is not available (run `ember doctor`)");

        using var logs = new ConfigurableLogProvider(id);
        var initialLogger = new LoggerResource
        {
            Level = result.GetValue(Level) ?? "Warning",
            LogPath = result.GetValue(LogPath),
            ShowLevel = result.GetValue(ShowLevel),
            ShowLogOrigin = result.GetValue(ShowLogOrigin),
        };
        try
        {
            initialLogger.Validate();
            logs.Apply(initialLogger);
        }
        catch (ResourceConfigException e)
        {
            return Fail($"--{e.Message.Replace("log_path", "log-path", StringComparison.Ordinal)}");
        }
        // The factory itself, not LoggerFactory.Create: that builds a dependency-injection container first, a
        // measurable part of start-up CPU in a Native AOT build. The provider does its own level filtering.
        using var loggerFactory = new LoggerFactory([logs], new LoggerFilterOptions { MinLevel = LogLevel.Trace });
        // Firecracker forwards its stdin to the guest's serial console once the machine starts, with a terminal
        // in raw mode; the terminal is put back however the process ends.
        RawTerminal? terminal = null;
        using var controller = new VmController(new VmControllerOptions
        {
            Started = machine =>
            {
                var raw = RawTerminal.Enter(0);
                Volatile.Write(ref terminal, raw);
                UserMessages.TerminalIsRaw = raw is not null;
                ConsoleInputPump.Start(machine, escapes: false);
            },
            InstanceId = id,
            LoggerFactory = loggerFactory,
            BootTimer = result.GetValue(BootTimer),
            StartTimestamp = start,
            ConfigureLogger = logs.Apply,
        });
        var api = new FirecrackerApi(controller);
        if (result.GetValue(MetricsPath) is { } metricsPath)
        {
            var metrics = controller.SetMetrics(new MetricsResource(metricsPath));
            if (Wait(metrics) is { } metricsProblem)
                return Fail($"--metrics-path: {metricsProblem}");
        }

        using var stop = new ManualResetEventSlim();
        using var signals = new SignalStop(_ =>
        {
            // The terminal first: a raw terminal left behind is unusable.
            Volatile.Read(ref terminal)?.Restore();
            stop.Set();
        });
        ApiServer? server = null;
        if (!noApi)
        {
            try
            {
                server = ApiServer.StartAsync(api, socket, maxPayload).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is SystemCallException or ArgumentException or IOException)
            {
                return Fail(e.Message);
            }
        }
        try
        {
            if (configJson is not null && FirecrackerConfigFile.ApplyAndStartAsync(api, configJson).GetAwaiter().GetResult() is { } problem)
                return Fail($"{configFile}: {problem}");
            controller.Exited.ContinueWith(_ => stop.Set(), TaskScheduler.Default);
            stop.Wait();
        }
        finally
        {
            Volatile.Read(ref terminal)?.Restore();
            UserMessages.TerminalIsRaw = false;
            server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        if (signals.Received is { } signal)
        {
            UserMessages.Note($"stopped by {signal.Name}");
            return ExitStatus.FromSignal(signal.Number);
        }
        var exit = controller.Exited.GetAwaiter().GetResult();
        if (exit.Reason is MachineStopReason.EmulationFailure or MachineStopReason.InternalError)
            UserMessages.Error(exit.Message);
        return exit.ExitCode;
    }

    private static string? Wait(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e) when (e is ResourceConfigException or VmStateException or VmCommandRefusedException)
        {
            return e.Message;
        }
    }
}
