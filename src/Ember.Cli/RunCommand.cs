using System.CommandLine;
using System.Diagnostics;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Sys;
using Ember.Vmm.Boot;
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
    private static readonly Option<int> Cpus = new("--cpus") { Description = "Number of vCPUs.", DefaultValueFactory = _ => 1 };
    private static readonly Option<string> Memory = new("--memory") { Description = "Guest RAM, e.g. 256M or 2G (bare numbers are MiB).", DefaultValueFactory = _ => "256M" };
    private static readonly Option<string> Irqchip = new("--irqchip") { Description = "split (default: LAPICs in KVM, IOAPIC/PIC/PIT in Ember) | kernel | userspace (Linux needs noapic nolapic).", DefaultValueFactory = _ => "split" };
    private static readonly Option<string> ConsoleOption = new("--console") { Description = "stdio | none | file:PATH.", DefaultValueFactory = _ => "stdio" };
    private static readonly Option<bool> BootTimer = new("--boot-timer") { Description = "Log the guest's boot time when it writes 123 to MMIO 0xC0000000." };
    private static readonly Option<bool> DebugExit = new("--debug-exit") { Description = "A guest write of v to port 0xF4 ends Ember with status (v<<1)|1." };
    private static readonly Option<bool> TestDevices = new("--test-devices") { Description = "QEMU pc-testdev compatible test devices (ports 0xE0, 0xE4, 0x2000; MMIO 0xFF000000), for test guests." };
    private static readonly Option<string?> CpuidMask = new("--cpuid-mask") { Description = "CPUID features to hide, comma-separated (e.g. cx16,xsave)." };
    private static readonly Option<bool> NoDecompress = new("--no-decompress") { Description = "Boot a bzImage through its own decompressor instead of Ember decompressing it and using the PVH entry." };
    private static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Log what Ember does." };
    private static readonly Argument<string[]> GuestCommandArgument = new("command")
    {
        Description = "With the default guest: a command to run in the guest (after --), which then powers off.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Build()
    {
        var command = new Command("run", "Boot a microVM and attach its serial console.");
        foreach (var option in new Option[] { Kernel, Initrd, CommandLine, Cpus, Memory, Irqchip, ConsoleOption, BootTimer, DebugExit, TestDevices, CpuidMask, NoDecompress, Verbose })
            command.Options.Add(option);
        command.Arguments.Add(GuestCommandArgument);
        command.SetAction(Execute);
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ember: error: {message}");
        return MachineExit.ExitUsageError;
    }

    private static int Execute(ParseResult result)
    {
        long start = Stopwatch.GetTimestamp();
        if (!SizeParser.TryParse(result.GetValue(Memory)!, out ulong memory, out string? sizeError))
            return Fail(sizeError!);
        if (!Enum.TryParse<IrqchipMode>(result.GetValue(Irqchip), ignoreCase: true, out var irqchip) || !Enum.IsDefined(irqchip))
            return Fail($"unknown --irqchip '{result.GetValue(Irqchip)}' (kernel, split or userspace)");
        if (!TryParseConsole(result.GetValue(ConsoleOption)!, out var consoleKind, out string? consoleFile))
            return Fail($"unknown --console '{result.GetValue(ConsoleOption)}' (stdio, none or file:PATH)");
        string? kernel = result.GetValue(Kernel);
        string? initrd = result.GetValue(Initrd);
        string commandLine = result.GetValue(CommandLine) ?? "";
        string[] guestCommand = result.GetValue(GuestCommandArgument) ?? [];
        bool software = KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm;
        var cpuidMask = (result.GetValue(CpuidMask) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        bool bootTimer = result.GetValue(BootTimer);
        if (kernel is null)
        {
            // The default guest: Debian's cloud kernel and an initramfs Ember builds (cached).
            GuestImage image;
            try
            {
                image = DefaultGuestImage.Build();
            }
            catch (Exception e) when (e is GuestImageException or IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot build the default guest: {e.Message} (./run.sh installs linux-image-cloud-amd64 and busybox-static)");
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
            if (software)
            {
                // Get as far as this host allows: no CMPXCHG16B/XSAVE for the emulator to trip on.
                commandLine += " noxsave";
                cpuidMask.AddRange(["cx16", "xsave"]);
            }
        }
        else if (guestCommand.Length > 0)
        {
            return Fail("a guest command after -- needs the default guest (leave out --kernel)");
        }

        var config = new MachineConfig
        {
            KernelPath = kernel,
            InitrdPath = initrd,
            CommandLine = commandLine,
            VcpuCount = result.GetValue(Cpus),
            MemorySize = memory,
            Irqchip = irqchip,
            Console = consoleKind,
            ConsoleFile = consoleFile,
            BootTimer = bootTimer,
            DebugExit = result.GetValue(DebugExit),
            TestDevices = result.GetValue(TestDevices),
            DecompressBzImage = !result.GetValue(NoDecompress),
            CpuidMask = cpuidMask.Distinct().ToList(),
        };
        if (config.Validate() is { } problem)
            return Fail(problem);

        using var loggerFactory = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Trace);
            builder.AddProvider(new StderrLoggerProvider(result.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information));
        });
        var logger = loggerFactory.CreateLogger("ember");
        if (!KvmSystem.IsAvailable())
            return Fail("/dev/kvm is not available (run `ember doctor`)");
        if (software)
            logger.LogWarning("software KVM (kvm_pvm): guest kernel code is emulated (~2M instructions/s) and lacks cmpxchg16b/xsave/int3; a stock Linux kernel prints its early boot for about a minute, then stops at an int3 self-test instead of reaching init");

        using var output = OpenConsoleOutput(config);
        MicroVm machine;
        try
        {
            machine = MicroVm.Create(config, new StreamSerialOutput(output), loggerFactory, start);
        }
        catch (Exception e) when (e is MachineConfigurationException or BootImageException or IOException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
        catch (SystemCallException e)
        {
            Console.Error.WriteLine($"ember: error: {e.Message}");
            return MachineExit.ExitInternalError;
        }

        using (machine)
        using (config.Console == ConsoleKind.Stdio ? TerminalMode.EnterRaw() : null)
        {
            if (config.Console == ConsoleKind.Stdio)
                ConsoleInputPump.Start(machine);
            var exit = machine.Run();
            output.Flush();
            if (exit.Reason is MachineStopReason.EmulationFailure or MachineStopReason.InternalError)
                logger.LogError("{Message}", exit.Message);
            else
                logger.LogDebug("{Message}", exit.Message);
            if (exit.Reason == MachineStopReason.EmulationFailure && KvmHostReport.DetectFlavour("/sys/module") == KvmFlavour.SoftwarePvm)
                logger.LogError("this host's software KVM (kvm_pvm) lacks emulation for that instruction; on hardware KVM it runs natively");
            return exit.ExitCode;
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
