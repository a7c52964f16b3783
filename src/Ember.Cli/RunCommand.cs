using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using Ember.Devices.Legacy;
using Ember.Devices.Virtio.Net;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Boot;
using Ember.Vmm.Cpu;
using Ember.Vmm.Host;
using Ember.Vmm.Images;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Cli;

/// <summary>`ember run`: build a microVM from the options, boot it, and exit with the guest's status.</summary>
internal static class RunCommand
{
    private static readonly Option<string?> Kernel = new("--kernel") { Description = "Kernel image: bzImage, ELF vmlinux with a PVH note, or multiboot ELF32. Without it, the default guest." };
    private static readonly Option<string?> Initrd = new("--initrd") { Description = "Initial ramdisk (Linux) or module (multiboot)." };
    private static readonly Option<string?> CommandLine = new("--cmdline") { Description = "Kernel command line." };
    private static readonly Option<string> Cpus = new("--cpus") { Description = "Number of vCPUs.", DefaultValueFactory = _ => "1" };
    private static readonly Option<string> Memory = new("--memory") { Description = "Guest RAM, e.g. 256M or 2G (bare numbers are MiB).", DefaultValueFactory = _ => "256M" };
    private static readonly Option<string> Irqchip = new("--irqchip") { Description = "split (default: LAPICs in KVM, IOAPIC/PIC/PIT in Ember) | kernel | userspace (Linux needs noapic nolapic).", DefaultValueFactory = _ => "split" };
    private static readonly Option<string> ConsoleOption = new("--console") { Description = "stdio | none | file:PATH.", DefaultValueFactory = _ => "stdio" };
    private static readonly Option<string?> ConsoleRateLimit = new("--console-rate-limit") { Description = "Cap the guest's console output (COM1) with a token bucket: size=BYTES,refill=MS[,burst=BYTES]; what goes beyond it is dropped and counted, the guest never waits." };
    private static readonly Option<bool> BootTimer = new("--boot-timer") { Description = "Log the guest's boot time when it writes 123 to MMIO 0xC0000000." };
    private static readonly Option<bool> DebugExit = new("--debug-exit") { Description = "A guest write of v to port 0xF4 ends Ember with status (v<<1)|1." };
    private static readonly Option<bool> TestDevices = new("--test-devices") { Description = "QEMU pc-testdev compatible test devices (ports 0xE0, 0xE4, 0x2000; MMIO 0xFF000000), for test guests." };
    private static readonly Option<string?> CpuidMask = new("--cpuid-mask") { Description = "CPUID features to hide, comma-separated (e.g. cx16,xsave)." };
    private static readonly Option<bool> NoDecompress = new("--no-decompress") { Description = "Boot a bzImage through its own decompressor instead of Ember decompressing it and using the PVH entry." };
    private static readonly Option<string[]> Disk = new("--disk") { Description = "A virtio-blk disk: PATH[,ro][,id=NAME] (repeat for more; the first is /dev/vda; NAME is its serial, diskN by default).", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string[]> Net = new("--net") { Description = "A virtio-net interface on an existing host TAP: tap=NAME[,mac=MAC][,id=ID] (repeat for more; the first is eth0; without mac= the guest picks one).", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string?> Vsock = new("--vsock") { Description = "A virtio-vsock device: cid=N,uds=PATH (guest CID 3 or more; host programs connect to PATH and send CONNECT <port>, guest connections to port P reach PATH_P)." };
    private static readonly Option<bool> Rng = new("--rng") { Description = "A virtio-rng device (the guest's /dev/hwrng) fed from the host's random number generator." };
    private static readonly Option<string?> Gdb = new("--gdb") { Description = "A GDB remote stub on tcp:HOST:PORT or unix:PATH (gdb: target remote HOST:PORT); whoever reaches it controls the guest." };
    private static readonly Option<bool> GdbWait = new("--gdb-wait") { Description = "With --gdb: no vCPU runs an instruction until a debugger connects and continues." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Log what Ember does." };
    private static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Only errors on stderr: no host notes or warnings." };
    private static readonly Argument<string[]> GuestCommandArgument = new("command")
    {
        Description = "With the default guest: a command to run in the guest (after --), which then powers off.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Build()
    {
        var command = new Command("run", "Boot a microVM and attach its serial console.");
        foreach (var option in new Option[] { Kernel, Initrd, CommandLine, Cpus, Memory, Irqchip, ConsoleOption, ConsoleRateLimit, BootTimer, DebugExit, TestDevices, CpuidMask, NoDecompress, Disk, Net, Rng, Vsock, Gdb, GdbWait, Verbose, Quiet })
            command.Options.Add(option);
        command.Arguments.Add(GuestCommandArgument);
        command.SetAction(Execute);
        return command;
    }

    private static int Fail(string message)
    {
        UserMessages.Error(message);
        return ExitStatus.UsageError;
    }

    /// <summary>--disk PATH[,ro][,id=NAME]: without an id, disk N (from 0) is named "diskN", which is also the serial the guest sees.</summary>
    private static bool TryParseDisks(string[] values, out List<DriveConfig> drives, out string? error)
    {
        drives = [];
        error = null;
        foreach (string value in values)
        {
            var parts = value.Split(',');
            bool readOnly = false;
            string id = $"disk{drives.Count}";
            foreach (string flag in parts.Skip(1))
            {
                if (flag == "ro")
                    readOnly = true;
                else if (flag.StartsWith("id=", StringComparison.Ordinal))
                    id = flag[3..];
                else
                {
                    error = $"unknown --disk flag '{flag}' in '{value}' (PATH[,ro][,id=NAME])";
                    return false;
                }
            }
            if (parts[0].Length == 0)
            {
                error = $"--disk '{value}' has no path (PATH[,ro][,id=NAME])";
                return false;
            }
            drives.Add(new DriveConfig(id, parts[0], readOnly));
        }
        return true;
    }

    /// <summary>--net tap=NAME[,mac=MAC][,id=ID]: without an id, interface N (from 0) is "netN".</summary>
    private static bool TryParseNetworks(string[] values, out List<NetworkInterfaceConfig> networks, out string? error)
    {
        const string Form = "tap=NAME[,mac=MAC][,id=ID]";
        networks = [];
        error = null;
        foreach (string value in values)
        {
            string? tap = null, id = null;
            MacAddress? mac = null;
            foreach (string part in value.Split(','))
            {
                int equals = part.IndexOf('=', StringComparison.Ordinal);
                string key = equals < 0 ? part : part[..equals];
                string setting = equals < 0 ? "" : part[(equals + 1)..];
                bool repeated = key switch
                {
                    "tap" => tap is not null,
                    "mac" => mac is not null,
                    "id" => id is not null,
                    _ => false,
                };
                if (repeated)
                {
                    error = $"--net '{value}' gives {key}= twice ({Form})";
                    return false;
                }
                switch (key)
                {
                    case "tap" when equals >= 0:
                        tap = setting;
                        break;
                    case "id" when equals >= 0:
                        id = setting;
                        break;
                    case "mac" when equals >= 0:
                        if (MacAddress.TryParse(setting, out var address) is { } macProblem)
                        {
                            error = $"--net '{value}': {macProblem}";
                            return false;
                        }
                        mac = address;
                        break;
                    default:
                        error = $"unknown --net setting '{part}' in '{value}' ({Form})";
                        return false;
                }
            }
            if (string.IsNullOrEmpty(tap))
            {
                error = $"--net '{value}' names no TAP ({Form})";
                return false;
            }
            networks.Add(new NetworkInterfaceConfig(id ?? $"net{networks.Count}", tap, mac));
        }
        return true;
    }

    /// <summary>--vsock cid=N,uds=PATH: both keys once each, in any order; the values are checked with the rest of the configuration.</summary>
    private static bool TryParseVsock(string? value, out VsockConfig? vsock, out string? error)
    {
        vsock = null;
        error = null;
        if (value is null)
            return true;
        const string Form = "(cid=N,uds=PATH)";
        ulong? cid = null;
        string? uds = null;
        foreach (string part in value.Split(','))
        {
            int equals = part.IndexOf('=');
            string key = equals < 0 ? part : part[..equals];
            string text = equals < 0 ? "" : part[(equals + 1)..];
            if (equals < 0 || key is not ("cid" or "uds"))
            {
                error = $"unknown --vsock setting '{part}' in '{value}' {Form}";
                return false;
            }
            if ((key == "cid" && cid is not null) || (key == "uds" && uds is not null))
            {
                error = $"--vsock '{value}' gives {key}= twice {Form}";
                return false;
            }
            if (key == "uds")
            {
                uds = text;
                continue;
            }
            if (!ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong number))
            {
                error = $"--vsock cid must be a whole number, not '{text}' {Form}";
                return false;
            }
            cid = number;
        }
        if (cid is null || string.IsNullOrEmpty(uds))
        {
            error = $"--vsock '{value}' needs {(cid is null ? "cid=N" : "uds=PATH")} {Form}";
            return false;
        }
        vsock = new VsockConfig(cid.Value, uds);
        return true;
    }

    private static readonly string[] IrqchipNames = ["split", "kernel", "userspace"];

    private static int Execute(ParseResult result)
    {
        long start = Stopwatch.GetTimestamp();
        if (StrayGuestCommandProblem(result) is { } stray)
            return Fail(stray);
        if (!SizeParser.TryParse(result.GetValue(Memory)!, out ulong memory, out string? sizeError))
            return Fail(sizeError!);
        if (!int.TryParse(result.GetValue(Cpus), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int cpus))
            return Fail($"--cpus needs a whole number of vCPUs, not '{result.GetValue(Cpus)}'");
        string irqchipName = result.GetValue(Irqchip)!;
        // Names only: Enum.TryParse would also take "0" or "kernel,userspace".
        if (!IrqchipNames.Contains(irqchipName, StringComparer.OrdinalIgnoreCase))
            return Fail($"unknown --irqchip '{irqchipName}' (split, kernel or userspace)");
        var irqchip = Enum.Parse<IrqchipMode>(irqchipName, ignoreCase: true);
        if (!TryParseConsole(result.GetValue(ConsoleOption)!, out var consoleKind, out string? consoleFile))
            return Fail($"unknown --console '{result.GetValue(ConsoleOption)}' (stdio, none or file:PATH)");
        if (consoleFile is not null && ConsoleFileProblem(consoleFile) is { } consoleProblem)
            return Fail(consoleProblem);
        Ember.Devices.RateLimiting.TokenBucketSettings? consoleLimit = null;
        if (result.GetValue(ConsoleRateLimit) is { } limitText)
        {
            if (!ConsoleRateLimitParser.TryParse(limitText, out consoleLimit, out string? limitError))
                return Fail(limitError!);
            if (consoleKind == ConsoleKind.None)
                return Fail("--console-rate-limit limits the console's output, and --console none has none");
        }
        string? kernel = result.GetValue(Kernel);
        string? initrd = result.GetValue(Initrd);
        string commandLine = result.GetValue(CommandLine) ?? "";
        string[] guestCommand = result.GetValue(GuestCommandArgument) ?? [];
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        var cpuidMask = (result.GetValue(CpuidMask) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var userCpuidMask = cpuidMask.ToList();
        bool bootTimer = result.GetValue(BootTimer);
        bool quiet = result.GetValue(Quiet);
        if (kernel is null)
        {
            // The default guest: Debian's cloud kernel and an initramfs Ember builds (cached).
            GuestImage image;
            try
            {
                image = DefaultGuestImage.Build(new GuestImageOptions { SoftwareKvm = software });
            }
            catch (GuestImageException e)
            {
                return Fail($"cannot build the default guest: {e.Message} (./run.sh installs linux-image-cloud-amd64 and busybox-static)");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot build the default guest: {UserMessages.Describe(e)} (./run.sh installs linux-image-cloud-amd64 and busybox-static)");
            }
            kernel = image.KernelPath;
            initrd = image.InitrdPath;
            commandLine = string.Join(' ', new[] { image.CommandLine, commandLine }.Where(p => p.Length > 0));
            if (guestCommand.Length > 0)
            {
                try
                {
                    commandLine += " " + GuestCommand.ToKernelArgument(guestCommand);
                }
                catch (ArgumentException e)
                {
                    return Fail(e.Message);
                }
            }
            bootTimer = true;
            // Get as far as this host allows: no CMPXCHG16B/XSAVE for a software KVM's emulator to trip on.
            cpuidMask.AddRange(image.CpuidMask);
        }
        else if (guestCommand.Length > 0)
        {
            return Fail("a guest command after -- needs the default guest (leave out --kernel)");
        }

        if (!TryParseDisks(result.GetValue(Disk) ?? [], out var drives, out string? driveError))
            return Fail(driveError!);
        if (!TryParseNetworks(result.GetValue(Net) ?? [], out var networks, out string? networkError))
            return Fail(networkError!);
        if (!TryParseVsock(result.GetValue(Vsock), out var vsock, out string? vsockError))
            return Fail(vsockError!);
        Ember.Vmm.Debugging.GdbEndpoint? gdbEndpoint = null;
        if (result.GetValue(Gdb) is { } gdbText && !Ember.Vmm.Debugging.GdbEndpoint.TryParse(gdbText, out gdbEndpoint, out string? gdbError))
            return Fail(gdbError);
        var config = new MachineConfig
        {
            KernelPath = kernel,
            InitrdPath = initrd,
            CommandLine = commandLine,
            VcpuCount = cpus,
            MemorySize = memory,
            Irqchip = irqchip,
            Console = consoleKind,
            ConsoleFile = consoleFile,
            SerialRateLimit = consoleLimit,
            BootTimer = bootTimer,
            DebugExit = result.GetValue(DebugExit),
            TestDevices = result.GetValue(TestDevices),
            DecompressBzImage = !result.GetValue(NoDecompress),
            Drives = drives,
            NetworkInterfaces = networks,
            EntropyDevice = result.GetValue(Rng),
            Vsock = vsock,
            CpuidMask = cpuidMask.Distinct().ToList(),
            GdbEndpoint = gdbEndpoint,
            GdbWait = result.GetValue(GdbWait),
        };
        if (config.Validate() is { } problem)
            return Fail(problem);
        if (!quiet && HostMemory.TotalBytes() is { } hostMemory && memory > hostMemory)
            UserMessages.Warning($"--memory {memory >> 20} MiB is more than this host's {hostMemory >> 20} MiB; the guest may be killed when it uses it");
        if (!KvmSystem.IsAvailable())
            return Fail("/dev/kvm is not available (run `ember doctor`)");
        if (!quiet && userCpuidMask.Count > 0)
            WarnAboutUnhideableFeatures(userCpuidMask);

        // The factory itself, not LoggerFactory.Create: that builds a dependency-injection container first, a
        // measurable part of start-up CPU in a Native AOT build. The provider does its own level filtering.
        using var loggerFactory = new LoggerFactory([new StderrLoggerProvider(result.GetValue(Verbose) ? LogLevel.Debug : quiet ? LogLevel.Error : LogLevel.Information)], new LoggerFilterOptions { MinLevel = LogLevel.Trace });
        var logger = loggerFactory.CreateLogger("ember");

        bool consoleFileExisted = consoleFile is not null && File.Exists(consoleFile);
        Stream output;
        try
        {
            output = OpenConsoleOutput(config);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail($"cannot write the console file {consoleFile}: {UserMessages.Describe(e)}");
        }
        var serial = new StreamSerialOutput(output);
        MicroVm machine;
        try
        {
            machine = MicroVm.Create(config, serial, loggerFactory, start);
        }
        catch (Exception e) when (e is MachineConfigurationException or BootImageException or SystemCallException or IOException or UnauthorizedAccessException)
        {
            new QuietDispose(output).Dispose();
            // A refused machine leaves nothing behind: not even the console file it would have written.
            if (consoleFile is not null && !consoleFileExisted)
                TryDelete(consoleFile);
            return e switch
            {
                MachineConfigurationException or BootImageException => Fail(e.Message),
                SystemCallException => FailKvm(e.Message),
                _ => Fail($"cannot read {config.KernelPath}{(config.InitrdPath is null ? "" : $" or {config.InitrdPath}")}: {UserMessages.Describe(e)}"),
            };
        }

        using var closeOutput = new QuietDispose(output);
        using (machine)
        {
            // The host note comes once, short, only now that a guest really starts, only where someone watches,
            // and only for a Linux kernel (a bzImage): a small guest of a few instructions is not slow here.
            if (software && !quiet && config.Console != ConsoleKind.None && IsLinuxKernel(config.KernelPath))
                UserMessages.Note("software KVM (kvm_pvm): guest kernel code runs in KVM's emulator, minutes for a Linux boot (docs/host-quirks.md)");
            if (!quiet && machine.GdbEndpoint is { } stub)
                UserMessages.Note(GdbNote(stub, config.GdbWait));
            using var terminal = config.Console == ConsoleKind.Stdio ? RawTerminal.Enter(0) : null;
            UserMessages.TerminalIsRaw = terminal is not null;
            using var signals = new SignalStop(name =>
            {
                // The terminal first: a raw terminal left behind is unusable.
                terminal?.Restore();
                machine.RequestStop($"stopped by {name}");
            });
            if (config.Console == ConsoleKind.Stdio)
                ConsoleInputPump.Start(machine);
            var exit = machine.Run();
            terminal?.Restore();
            UserMessages.TerminalIsRaw = false;
            try
            {
                output.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
            if (serial.DroppedBytes > 0)
                UserMessages.Warning($"the console output failed; {serial.DroppedBytes} bytes of guest output were lost");
            if (!quiet && machine.Metrics.SerialDroppedBytes is > 0 and var overLimit)
                UserMessages.Note($"{overLimit} bytes of guest console output went over --console-rate-limit and were dropped");
            if (signals.Received is { } signal)
            {
                UserMessages.Note($"stopped by {signal.Name}");
                return ExitStatus.FromSignal(signal.Number);
            }
            if (machine.EmulatorGaps is { Total: > 0 } gaps)
                logger.LogDebug("finished for KVM's emulator: {Counts}", string.Join(", ", gaps.Counts.Select(c => $"{c.Key.ToString().ToLowerInvariant()} {c.Value}")));
            ReportExit(exit, software, logger);
            return exit.ExitCode;
        }
    }

    /// <summary>
    /// On some hosts (kvm_pvm) a masked feature stays visible to the guest: say so in one line, so nobody
    /// believes it hidden. The probe is a throwaway VM that takes milliseconds.
    /// </summary>
    private static void WarnAboutUnhideableFeatures(IReadOnlyList<string> requested)
    {
        try
        {
            using var kvm = KvmSystem.Open();
            var report = CpuidMaskProbe.Run(kvm);
            var visible = requested.Where(report.StaysVisibleWhenMasked).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (visible.Count > 0)
                UserMessages.Warning($"--cpuid-mask cannot hide {string.Join(", ", visible)} on this host: its KVM shows {(visible.Count == 1 ? "it" : "them")} to the guest anyway (see `ember doctor`)");
        }
        catch (KvmException e)
        {
            UserMessages.Warning($"could not check which CPUID features this host can hide: {e.Message}");
        }
    }

    /// <summary>Where the debugger connects, as gdb's own command; the real port when port 0 was asked for.</summary>
    private static string GdbNote(Ember.Vmm.Debugging.GdbEndpoint stub, bool waiting)
    {
        string target = stub.Transport == Ember.Vmm.Debugging.GdbTransport.Unix
            ? stub.Path!
            : stub.Host!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{stub.Host}]:{stub.Port}" : $"{stub.Host}:{stub.Port}";
        return $"gdb stub on {stub} (gdb -ex 'target remote {target}'){(waiting ? "; the guest waits for the debugger to continue" : "")}";
    }

    private static int FailKvm(string message)
    {
        UserMessages.Error(message);
        return ExitStatus.KvmFailure;
    }

    /// <summary>How the guest ended, in one line where it is not a plain power-off or debug exit.</summary>
    private static bool IsLinuxKernel(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> header = stackalloc byte[0x210];
            return BzImage.HasHeaderMagic(header[..file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false)]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void ReportExit(MachineExit exit, bool software, ILogger logger)
    {
        switch (exit.Reason)
        {
            case MachineStopReason.EmulationFailure:
                UserMessages.Error(exit.Message);
                // Blame the host only for what it is known to lack; a jump into unmapped memory is the guest's doing.
                if (software && exit.InstructionBytes is { } bytes && KvmPvmEmulatorGaps.Identify(bytes) is { } instruction)
                    UserMessages.Note($"kvm_pvm's emulator lacks {instruction}; on hardware KVM it runs natively (docs/host-quirks.md)");
                break;
            case MachineStopReason.InternalError:
                UserMessages.Error(exit.Message);
                break;
            case MachineStopReason.Reset:
                UserMessages.Note($"the guest reset: {exit.Message}");
                break;
            default:
                logger.LogDebug("{Message}", exit.Message);
                break;
        }
    }

    /// <summary>
    /// Only what follows a literal `--` is a guest command. Anything else the parser could not match (a
    /// misspelt option, QEMU's -m) lands in the command argument too, and must be an error naming it.
    /// </summary>
    private static string? StrayGuestCommandProblem(ParseResult result)
    {
        if (result.GetResult(GuestCommandArgument) is not { } argument || argument.Tokens.Count == 0)
            return null;
        int doubleDash = -1;
        for (int i = 0; i < result.Tokens.Count; i++)
        {
            if (result.Tokens[i].Type == TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }
        foreach (var token in argument.Tokens)
        {
            int position = -1;
            for (int i = 0; i < result.Tokens.Count; i++)
            {
                if (ReferenceEquals(result.Tokens[i], token))
                {
                    position = i;
                    break;
                }
            }
            if (doubleDash >= 0 && position > doubleDash)
                continue;
            return token.Value.StartsWith('-')
                ? $"unknown option '{token.Value}' (see `ember run --help`; a guest command goes after --)"
                : $"unexpected argument '{token.Value}' (a guest command goes after --)";
        }
        return null;
    }

    /// <summary>A console file Ember can create or append to: its directory exists and it is not a directory.</summary>
    private static string? ConsoleFileProblem(string path)
    {
        var (kind, _) = HostFile.Inspect(path);
        if (kind == HostFileKind.Directory)
            return $"the console file {path} is a directory; give a file name";
        if (kind is HostFileKind.Regular or HostFileKind.Device)
        {
            // It exists: find out now whether it can be written, without creating or truncating anything.
            try
            {
                using var probe = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"cannot write the console file {path}: {UserMessages.Describe(e)}";
            }
        }
        if (kind is HostFileKind.Fifo or HostFileKind.Socket)
            return $"the console file {path} is a {(kind == HostFileKind.Fifo ? "FIFO" : "socket")}; give a regular file";
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (kind == HostFileKind.Missing && directory is not null && HostFile.Inspect(directory).Kind != HostFileKind.Directory)
            return $"cannot create the console file {path}: the directory {directory} does not exist";
        return null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool TryParseConsole(string text, out ConsoleKind kind, out string? file)
    {
        file = null;
        kind = ConsoleKind.Stdio;
        if (text == "stdio")
            return true;
        if (text == "none")
        {
            kind = ConsoleKind.None;
            return true;
        }
        if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > 5)
        {
            kind = ConsoleKind.File;
            file = text[5..];
            return true;
        }
        return false;
    }

    private static Stream OpenConsoleOutput(MachineConfig config) => config.Console switch
    {
        ConsoleKind.Stdio => Console.OpenStandardOutput(),
        ConsoleKind.File => new FileStream(config.ConsoleFile!, FileMode.Append, FileAccess.Write, FileShare.Read),
        _ => Stream.Null,
    };
}
