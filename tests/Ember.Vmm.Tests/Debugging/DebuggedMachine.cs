using System.Net;
using Ember.Kvm;
using Ember.Vmm.Debugging;
using Ember.Vmm.Machine;
using Ember.Vmm.Tests.Machine;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>A started machine running <see cref="DebugGuest"/> with a GDB stub on a free loopback port, its files in a temporary directory.</summary>
internal sealed class DebuggedMachine : IDisposable
{
    private readonly DirectoryInfo _directory;

    private DebuggedMachine(MicroVm vm, DirectoryInfo directory, string? symbolFile)
    {
        Vm = vm;
        _directory = directory;
        SymbolFile = symbolFile;
    }

    public MicroVm Vm { get; }

    /// <summary>The ELF file with the guest's symbols, for gdb's <c>file</c>.</summary>
    public string? SymbolFile { get; }

    /// <summary>What gdb's <c>target remote</c> takes.</summary>
    public string Target => Vm.GdbEndpoint is { Transport: GdbTransport.Unix } unix ? unix.Path! : $"127.0.0.1:{Vm.GdbEndpoint!.Port}";

    public static DebuggedMachine Start(DebugGuest guest, int vcpus = 1, bool debugExit = true, bool waitForDebugger = true, string? unixSocket = null) =>
        Start(guest.BuildKernel(), guest.BuildSymbolFile(), vcpus, debugExit, waitForDebugger, unixSocket);

    /// <summary>Any kernel image, with or without a symbol file.</summary>
    public static DebuggedMachine Start(byte[] kernelImage, byte[]? symbolFile, int vcpus = 1, bool debugExit = true, bool waitForDebugger = true, string? unixSocket = null)
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        // Not a skip: scripts/install-deps.sh test installs gdb, so a missing gdb is a broken test setup, not another host.
        Assert.True(GdbProcess.IsInstalled, $"{GdbProcess.Executable} is missing: scripts/install-deps.sh test installs Debian's gdb");
        var directory = Directory.CreateTempSubdirectory("ember-gdb-");
        try
        {
            string kernel = Path.Combine(directory.FullName, "guest.bzimage");
            string? symbols = symbolFile is null ? null : Path.Combine(directory.FullName, "guest.elf");
            File.WriteAllBytes(kernel, kernelImage);
            if (symbols is not null)
                File.WriteAllBytes(symbols, symbolFile!);
            var vm = MicroVm.Create(new MachineConfig
            {
                KernelPath = kernel,
                MemorySize = 64UL << 20,
                VcpuCount = vcpus,
                DebugExit = debugExit,
                Console = ConsoleKind.None,
                GdbEndpoint = unixSocket is null ? GdbEndpoint.Tcp(IPAddress.Loopback, 0) : GdbEndpoint.Unix(Path.Combine(directory.FullName, unixSocket)),
                GdbWait = waitForDebugger,
            }, new CapturedConsole());
            vm.Start();
            return new DebuggedMachine(vm, directory, symbols);
        }
        catch
        {
            directory.Delete(recursive: true);
            throw;
        }
    }

    public GdbProcess.Result Gdb(params string[] commands) => GdbProcess.Run(SymbolFile, Target, commands);

    /// <summary>Runs gdb printing each command before its output ('+' lines), for a transcript.</summary>
    public GdbProcess.Result GdbEchoingCommands(params string[] commands) => GdbProcess.Run(SymbolFile, Target, commands, echoCommands: true);

    /// <summary>Runs gdb and calls <paramref name="whileRunning"/> with it as soon as it started.</summary>
    public GdbProcess.Result Gdb(Action<System.Diagnostics.Process> whileRunning, params string[] commands) =>
        GdbProcess.Run(SymbolFile, Target, commands, whileRunning);

    /// <summary>
    /// Waits (behind <paramref name="safetyNet"/>) for the guest to end after a gdb session; a guest that does not
    /// end fails with what gdb printed, which says how far the session got.
    /// </summary>
    public async Task<MachineExit> ExitAfter(GdbProcess.Result gdb, TimeSpan safetyNet)
    {
        try
        {
            return await Vm.Exited.WaitAsync(safetyNet, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the guest did not end within {safetyNet.TotalSeconds} s of the gdb session (gdb exited with {gdb.ExitCode}); gdb printed:\n{gdb.Output}");
        }
    }

    public void Dispose()
    {
        Vm.Dispose();
        _directory.Delete(recursive: true);
    }
}
