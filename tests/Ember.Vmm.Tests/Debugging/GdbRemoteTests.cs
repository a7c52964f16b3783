using System.Text.RegularExpressions;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>The GDB stub driven by the real GNU debugger over TCP and Unix sockets, on the real /dev/kvm.</summary>
[Trait("Requires", "kvm")]
public sealed class GdbRemoteTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);
    private static readonly DebugGuest Guest = DebugGuest.Build();

    private static string Hex(ulong value) => $"0x{value:x}";

    /// <summary>An address as gdb prints a frame's PC: 16 hex digits.</summary>
    private static string Pc(ulong value) => $"0x{value:x16}";

    /// <summary>Asserts gdb printed <paramref name="expected"/>; a failure shows all it printed.</summary>
    private static void Has(string output, string expected) =>
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"gdb did not print \"{expected}\"; it printed:\n{output}");

    [Fact]
    public async Task GdbReadsRegistersAndMemoryBreaksStepsWatchesAndChangesTheGuestsExit()
    {
        using var machine = DebuggedMachine.Start(Guest);
        var gdb = machine.Gdb(
            "print $pc",
            "print $mxcsr",
            "print $fctrl",
            "print $cs",
            "set var $xmm1.v2_int64[0] = 1234567",
            "print $xmm1.v2_int64[0]",
            "break compute",
            "continue",
            "print $rdi",
            "x/gx &counter",
            "stepi",
            "print $pc",
            "print $rax",
            "delete",
            "watch *(char *)&watched",
            "continue",
            "print $pc",
            "delete",
            "hbreak choose_exit",
            "continue",
            "set var $rbx = 0x55",
            "continue",
            "print $_exitcode");
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        string output = gdb.Output;
        Has(output, $"$1 = (void (*)()) {Hex(Guest["start"])} <start>");
        // The x87 and SSE state as KVM_GET_FPU gives it (FCW 0x37f as Ember set it for the boot; MXCSR shown as its
        // flags: kvm_pvm reads it as 0 whatever was set), the boot code segment 0x10.
        Has(output, "$2 = [ ");
        Has(output, "$3 = 895");
        Has(output, "$4 = 16");
        Has(output, "$5 = 1234567");
        Has(output, $"Breakpoint 1, {Pc(Guest["compute"])} in compute ()");
        Has(output, "$6 = 14");
        Has(output, $"{Hex(Guest["counter"])} <counter>:\t0x{DebugGuest.CounterValue:x}");
        Has(output, $"= (void (*)()) {Hex(Guest["compute"] + 4)} <compute+4>");
        Has(output, "$8 = 42");
        Has(output, "atchpoint 2: *(char *)&watched");
        Has(output, "Old value = 0 '\\000'");
        Has(output, "New value = 7 '\\a'");
        Has(output, $"= (void (*)()) {Hex(Guest["store_done"])} <store_done>");
        Has(output, $"Hardware assisted breakpoint 3 at {Hex(Guest["choose_exit"])}");
        Has(output, $"Breakpoint 3, {Pc(Guest["choose_exit"])} in choose_exit ()");
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(0x55, exit.DebugExitValue);
        Has(output, $"exited with code 0{Convert.ToString((0x55 << 1) | 1, 8)}]");
        Has(output, $"= {(0x55 << 1) | 1}");
    }

    /// <summary>
    /// A whole session over the guest's own page tables (<see cref="DebugGuest"/>): gdb reads at a linear address the guest
    /// mapped to a different physical page and sees what the guest wrote there; an unmapped page is gdb's "Cannot access
    /// memory"; a write across two pages mapped apart lands in both and one that runs into the unmapped page writes
    /// nothing; a breakpoint at a second linear address of the code (read-only) stops the guest there; the step,
    /// watchpoint and register change work as usual; the detach lets the guest end with the register value gdb set. The transcript (commands echoed as '+' lines) goes to the test output: docs/gdb.md shows it.
    /// </summary>
    [Fact]
    public async Task AWholeSessionReadsAndWritesThroughTheGuestsOwnPageTablesAndDetaches()
    {
        const ulong Linear = DebugGuest.MappedLinear;
        using var machine = DebuggedMachine.Start(Guest);
        var gdb = machine.GdbEchoingCommands(
            "info registers",
            $"x/gx {Hex(Linear)}",
            "break compute",
            "continue",
            $"x/gx {Hex(Linear)}",
            $"x/gx {Hex(DebugGuest.UnmappedLinear)}",
            $"set var *(unsigned long *){Hex(Linear + 0xFFC)} = 0x1122334455667788",
            $"x/2wx {Hex(Linear + 0xFFC)}",
            $"set var *(unsigned long *){Hex(Linear + 0x1FFC)} = 0",
            "stepi",
            "print $pc",
            "delete",
            "watch *(char *)&watched",
            "continue",
            "delete",
            $"break *{Hex(Guest.ComputeAlias)}",
            "continue",
            "x/i $pc",
            "delete",
            "hbreak choose_exit",
            "continue",
            "print $rax",
            "set var $rbx = 0x55",
            "detach");
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        string output = gdb.Output;
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        Assert.Matches($@"\nrip +{Hex(Guest["start"])} +{Hex(Guest["start"])} <start>", output);
        // Before the guest's own tables: the loader's identity map sends 1 GiB to a physical address past the 64 MiB of RAM.
        Has(output, $"Cannot access memory at address {Hex(Linear)}");
        Has(output, $"Breakpoint 1, {Pc(Guest["compute"])} in compute ()");
        Has(output, $"{Hex(Linear)}:\t0x{DebugGuest.MappedValue:x}");
        Has(output, $"Cannot access memory at address {Hex(DebugGuest.UnmappedLinear)}");
        Has(output, $"{Hex(Linear + 0xFFC)}:\t0x55667788\t0x11223344");
        Has(output, $"Cannot access memory at address {Hex(Linear + 0x1FFC)}");
        Has(output, $"= (void (*)()) {Hex(Guest["compute"] + 4)} <compute+4>");
        Has(output, "New value = 7 '\\a'");
        // The int3 went where the alias maps (the code's read-only page), and reads at the alias show the code, not the int3.
        Has(output, $"Breakpoint 3, {Pc(Guest.ComputeAlias)} in ?? ()");
        Has(output, $"=> {Hex(Guest.ComputeAlias)}:\tlea    (%rdi,%rdi,2),%rax");
        Has(output, $"Breakpoint 4, {Pc(Guest["choose_exit"])} in choose_exit ()");
        Has(output, "$2 = 42");
        Has(output, "[Inferior 1 (Remote target) detached]");
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(0x55, exit.DebugExitValue);
        // The write across the two pages went to both physical pages; the one into the unmapped page wrote nothing.
        var memory = machine.Vm.Memory;
        Assert.Equal(0x5566_7788u, memory.ReadObject<uint>(new(DebugGuest.MappedPhysical + 0xFFC)));
        Assert.Equal(0x1122_3344u, memory.ReadObject<uint>(new(DebugGuest.NextMappedPhysical)));
        Assert.Equal(0u, memory.ReadObject<uint>(new(DebugGuest.NextMappedPhysical + 0xFFC)));
    }

    /// <summary>
    /// The control registers as KVM_GET_SREGS gives them, once the guest runs on its own page tables: CR3 is their base,
    /// CR0/CR4/EFER what Ember's long-mode boot set. A write gdb makes to CR2 and CR8 reaches KVM (read back after gdb
    /// forgets its cache) and the guest (it stores both before it exits); a CR0 without paging in long mode is refused
    /// by KVM, reported to gdb, and changes nothing.
    /// </summary>
    [Fact]
    public async Task GdbReadsTheControlRegistersAndItsWritesReachTheGuestOrAreRefused()
    {
        // Each command with a pattern of what it must print (null: nothing to check).
        (string Command, string? Prints)[] session =
        [
            ("break compute", null),
            ("continue", Regex.Escape($"Breakpoint 1, {Pc(Guest["compute"])} in compute ()")),
            ("info registers cr0 cr3 cr4 efer",
                $@"\ncr0 +0x80000011 +\[ PE ET PG \]\ncr3 +{Hex(DebugGuest.Tables)} .*\ncr4 +0x20 +\[ PAE \]\nefer +0x500 +\[ LME LMA \]\n"),
            ("print/x $cr3", Regex.Escape($"$1 = {Hex(DebugGuest.Tables)}")),
            ("print/x $k_gs_base", Regex.Escape("$2 = 0x0")),
            ("set var $cr2 = 0xdead0000", null),
            ("set var $cr8 = 5", null),
            ("set var $cr0 = (long) 0", Regex.Escape("Could not write register \"cr0\"; remote failure reply 'E01'")),  // a flags type: gdb wants the cast
            ("maintenance flush register-cache", null),
            ("print/x $cr2", Regex.Escape("$3 = 0xdead0000")),
            ("print/x $cr8", Regex.Escape("$4 = 0x5")),
            ("print/x $cr0", Regex.Escape("$5 = 0x80000011")),
            ("delete", null),
            ("continue", null),
        ];
        using var machine = DebuggedMachine.Start(Guest);
        var gdb = machine.Gdb([.. session.Select(step => step.Command)]);
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        foreach (string pattern in session.Select(step => step.Prints).OfType<string>())
            Assert.Matches(pattern, gdb.Output);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(DebugGuest.DefaultExitValue, exit.DebugExitValue);
        Assert.Equal(0xDEAD_0000UL, machine.Vm.Memory.ReadObject<ulong>(new(Guest["seen_cr2"])));
        Assert.Equal(5UL, machine.Vm.Memory.ReadObject<ulong>(new(Guest["seen_cr8"])));
    }

    [Fact]
    public async Task DetachingLeavesNoBreakpointAndTheGuestFinishesWithItsOwnExit()
    {
        using var machine = DebuggedMachine.Start(Guest);
        var gdb = machine.Gdb("break compute", "hbreak after_call", "continue", "continue", "detach");
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        string output = gdb.Output;
        Has(output, $"Breakpoint 1, {Pc(Guest["compute"])} in compute ()");
        Has(output, $"Breakpoint 2, {Pc(Guest["after_call"])} in after_call ()");
        Has(output, "[Inferior 1 (Remote target) detached]");
        // compute runs a second time after the detach: an int3 left in it would have trapped the guest.
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(DebugGuest.DefaultExitValue, exit.DebugExitValue);
    }

    [Fact]
    public void CtrlCInGdbStopsAGuestThatNeverStopsByItself()
    {
        // Without the debug-exit device the guest's last out goes nowhere and it halts forever.
        using var machine = DebuggedMachine.Start(Guest, debugExit: false);
        var gdb = machine.Gdb(process => InterruptOnceRunning(machine, process), "continue", "print $pc");
        string output = gdb.Output;
        Has(output, "Program received signal SIGINT, Interrupt.");
        Has(output, "in halt ()");
        Assert.False(machine.Vm.Exited.IsCompleted);
    }

    /// <summary>
    /// Once the guest has run past its last store (so gdb has continued it and waits), does what Ctrl-C at gdb's terminal
    /// does: SIGINT to gdb, which sends the stub 0x03.
    /// </summary>
    private static void InterruptOnceRunning(DebuggedMachine machine, System.Diagnostics.Process gdb)
    {
        var deadline = DateTime.UtcNow + SafetyNet;
        while (machine.Vm.Memory.ReadObject<byte>(new(Guest["watched"])) != DebugGuest.WatchedValue)
        {
            Assert.True(DateTime.UtcNow < deadline, "the guest never ran to its end under gdb");
            Thread.Sleep(10);
        }
        using var kill = System.Diagnostics.Process.Start("kill", ["-INT", gdb.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    [Fact]
    public async Task TwoVcpusAreTwoThreadsOverAUnixSocketAndKillEndsTheMachine()
    {
        using var machine = DebuggedMachine.Start(Guest, vcpus: 2, unixSocket: "gdb.sock");
        var gdb = machine.Gdb("info threads", "thread 2", "print $pc", "thread 1", "print $pc", "kill");
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        string output = gdb.Output;
        Has(output, "Thread 1 (vCPU 0)");
        Has(output, "Thread 2 (vCPU 1)");
        Has(output, "[Switching to thread 2 (Thread 2)]");
        Has(output, $"$2 = (void (*)()) {Hex(Guest["start"])} <start>");
        Assert.Equal(MachineStopReason.HostRequest, exit.Reason);
    }

    [Fact]
    public async Task AProtectedModeGuestGetsTheI386RegisterSet()
    {
        // Multiboot enters 32-bit protected mode without paging: mov eax, imm32 (5 bytes); mov [0x5000], eax (5 bytes); exit.
        const uint Stored = 0x5000;
        byte[] kernel = Ember.TestGuests.MultibootImage.Build(a =>
        {
            a.mov(Iced.Intel.AssemblerRegisters.eax, 0x1234_5678);
            a.mov(Iced.Intel.AssemblerRegisters.__dword_ptr[Stored], Iced.Intel.AssemblerRegisters.eax);
            Ember.TestGuests.GuestCode.Exit32(a, 0x2a);
        });
        ulong code = Ember.TestGuests.MultibootImage.CodeAddress;
        using var machine = DebuggedMachine.Start(kernel, symbolFile: null);
        // The machine starts in Ember's multiboot firmware below 1 MiB, which jumps to the kernel's entry.
        var gdb = machine.Gdb(
            "show architecture",
            $"break *{Hex(code)}",
            "continue",
            "print/x $eax",
            "stepi",
            "print/x $eax",
            "print $pc",
            "stepi",
            $"x/wx {Hex(Stored)}",
            "info registers cr0 cr3 cr4 efer",
            "continue");
        var exit = await machine.ExitAfter(gdb, SafetyNet);
        string output = gdb.Output;
        Has(output, "(currently \"i386\")");
        Has(output, $"Breakpoint 1, 0x{code:x8} in ?? ()");
        Has(output, "$1 = 0x2badb002");  // the multiboot magic at the kernel's entry
        Has(output, "$2 = 0x12345678");
        Has(output, $"$3 = (void (*)()) {Hex(code + 5)}");
        Has(output, $"{Hex(Stored)}:\t0x12345678");
        // Multiboot's protected mode as Ember sets it up: PE and ET, no paging, no PAE, no long mode.
        Assert.Matches(@"\ncr0 +0x11 +\[ PE ET \]", output);
        Assert.Matches(@"\ncr3 +0x0 +0\n", output);
        Assert.Matches(@"\ncr4 +0x0 +\[ \]", output);
        Assert.Matches(@"\nefer +0x0 +\[ \]", output);
        Has(output, $"exited with code 0{Convert.ToString((0x2a << 1) | 1, 8)}]");
        Assert.Equal(0x2a, exit.DebugExitValue);
    }
}
