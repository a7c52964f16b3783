using Ember.Kvm;
using Ember.Vmm.Debugging;
using Ember.Vmm.Host;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Debugging;

/// <summary>The live stub (real KVM) against a bare protocol client: what gdb itself never sends.</summary>
[Trait("Requires", "kvm")]
public sealed class GdbStubProtocolTests
{
    private static readonly TimeSpan SafetyNet = TimeSpan.FromSeconds(120);
    private static readonly DebugGuest Guest = DebugGuest.Build();

    [Fact]
    public async Task BadChecksumsOverlongAndMalformedPacketsGetNaksAndErrorsAndTheStubServesOn()
    {
        using var machine = DebuggedMachine.Start(Guest);
        using var client = new RspClient(machine.Vm.GdbEndpoint!.Port);
        client.SendRaw("$g#00");
        Assert.Equal('-', client.ReadByte());
        client.SendRaw("\x01\x02 noise +");
        Assert.Equal("E01", client.Exchange(new string('a', 3 * 0x4000)));
        Assert.Equal("E01", client.Exchange("*  "));
        Assert.Equal("E16", client.Exchange("mzz,4"));
        Assert.Equal("E16", client.Exchange("P10=12"));
        Assert.Equal("E0e", client.Exchange("m0fffffffffff000,8"));
        Assert.Equal("T05thread:1;", client.Exchange("?"));
        // A run-length encoded request is expanded: "0* " is four zeros, so this reads 8 bytes at 0x00000100200.
        Assert.Equal(Convert.ToHexString(Guest.Code[..8]).ToLowerInvariant(), client.Exchange("m0* 0100200,8"));

        Assert.Equal("OK", client.Exchange("QStartNoAckMode"));
        client.SendRaw("+");
        Assert.Equal(X86RegisterLayout.Amd64.TotalBytes * 2, client.Exchange("g", acknowledged: false).Length);
        Assert.Equal("OK", client.Exchange("D", acknowledged: false));

        var exit = await machine.Vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(DebugGuest.DefaultExitValue, exit.DebugExitValue);
    }

    [Fact]
    public async Task ADroppedConnectionTakesEveryBreakpointAndWatchpointWithItAndTheGuestRunsOn()
    {
        using var machine = DebuggedMachine.Start(Guest);
        using (var client = new RspClient(machine.Vm.GdbEndpoint!.Port))
        {
            client.Exchange("qSupported:swbreak+;hwbreak+");
            Assert.Equal("OK", client.Exchange($"Z0,{Guest["compute"]:x},1"));
            Assert.Equal("OK", client.Exchange($"Z1,{Guest["choose_exit"]:x},1"));
            Assert.Equal("OK", client.Exchange($"Z2,{Guest["watched"]:x},1"));
            // The int3 is in guest memory (where this KVM delivers it; elsewhere the breakpoint is in a debug
            // register and the code is untouched), and reads show the code as it was.
            byte original = Guest.Code[(int)(Guest["compute"] - DebugGuest.Origin)];
            using (var kvm = KvmSystem.Open())
                Assert.Equal(BreakpointInterceptProbe.SoftwareBreakpointsUseInt3(kvm) ? 0xCC : original, machine.Vm.Memory.ReadObject<byte>(new(Guest["compute"])));
            Assert.Equal($"{Guest.Code[(int)(Guest["compute"] - DebugGuest.Origin)]:x2}", client.Exchange($"m{Guest["compute"]:x},1"));
            Assert.Equal("T05thread:1;swbreak:;", client.Exchange("c"));
        }
        // Gone without a detach: the stub restores the byte, drops the debug registers and lets the guest go.
        var exit = await machine.Vm.Exited.WaitAsync(SafetyNet, TestContext.Current.CancellationToken);
        Assert.Equal(MachineStopReason.DebugExit, exit.Reason);
        Assert.Equal(DebugGuest.DefaultExitValue, exit.DebugExitValue);
        Assert.Equal(Guest.Code[(int)(Guest["compute"] - DebugGuest.Origin)], machine.Vm.Memory.ReadObject<byte>(new(Guest["compute"])));
    }

    [Fact]
    public void ASecondDebuggerIsTurnedAwayWhileTheFirstIsConnected()
    {
        using var machine = DebuggedMachine.Start(Guest);
        using var first = new RspClient(machine.Vm.GdbEndpoint!.Port);
        Assert.Equal("T05thread:1;", first.Exchange("?"));
        using var second = new RspClient(machine.Vm.GdbEndpoint!.Port);
        second.SendPacket("?");
        Assert.True(second.IsClosedByPeer());
        Assert.Equal("T05thread:1;", first.Exchange("?"));
    }
}
