using System.Buffers.Binary;
using System.Text;
using System.Xml.Linq;
using CsCheck;
using Ember.Vmm.Debugging;

namespace Ember.Vmm.Tests.Debugging;

public sealed class GdbSessionTests
{
    private static GdbSession NewSession(FakeGdbTarget target, int stoppedVcpu = 0) =>
        new(target, GdbServer.PacketSize, new GdbStopEvent(stoppedVcpu, GdbStopKind.Attached));

    private static string? Send(GdbSession session, string packet) => session.Handle(Encoding.Latin1.GetBytes(packet));

    private static string Hex(string text) => Convert.ToHexString(Encoding.ASCII.GetBytes(text)).ToLowerInvariant();

    [Fact]
    public void QSupportedOffersThePacketSizeNoAckModeTheTargetDescriptionAndBreakpointKinds()
    {
        var session = NewSession(new FakeGdbTarget());
        string reply = Send(session, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")!;
        Assert.Contains("PacketSize=4000", reply.Split(';'));
        Assert.Contains("QStartNoAckMode+", reply.Split(';'));
        Assert.Contains("qXfer:features:read+", reply.Split(';'));
        Assert.Contains("swbreak+", reply.Split(';'));
        Assert.Contains("hwbreak+", reply.Split(';'));
        Assert.False(session.NoAckMode);
        Assert.Equal("OK", Send(session, "QStartNoAckMode"));
        Assert.True(session.NoAckMode);
    }

    [Fact]
    public void TheStopReasonNamesTheThreadAndUnknownPacketsGetTheEmptyReply()
    {
        var session = NewSession(new FakeGdbTarget(vcpuCount: 2), stoppedVcpu: 1);
        Assert.Equal("T05thread:2;", Send(session, "?"));
        Assert.Equal("", Send(session, "vMustReplyEmpty"));
        Assert.Equal("", Send(session, "qTStatus"));
        Assert.Equal("", Send(session, "!"));
        Assert.Equal("1", Send(session, "qAttached"));
    }

    [Fact]
    public void EachVcpuIsAThreadAndThreadSelectionIsChecked()
    {
        var target = new FakeGdbTarget(vcpuCount: 3);
        var session = NewSession(target);
        Assert.Equal("m1,2,3", Send(session, "qfThreadInfo"));
        Assert.Equal("l", Send(session, "qsThreadInfo"));
        Assert.Equal("QC1", Send(session, "qC"));
        Assert.Equal("OK", Send(session, "T3"));
        Assert.Equal(GdbSession.ErrorGeneral, Send(session, "T4"));
        Assert.Equal(Hex("vCPU 2"), Send(session, "qThreadExtraInfo,3"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "Hg9"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "Hgzz"));
        Assert.Equal("OK", Send(session, "Hg3"));
        Assert.Equal("OK", Send(session, "Hgp1.2"));
        // Thread 2 is vCPU 1: its rax (the first 8 bytes of g) is 0x11110001.
        Assert.StartsWith("01001111" + "00000000", Send(session, "g"));
        Assert.Equal("OK", Send(session, "Hg0"));
        Assert.StartsWith("01001111", Send(session, "g"));
    }

    [Fact]
    public void TheTargetDescriptionIsReadInChunksAndFollowsTheVcpusMode()
    {
        string Read(GdbSession session)
        {
            var document = new StringBuilder();
            while (true)
            {
                string reply = Send(session, $"qXfer:features:read:target.xml:{document.Length:x},100")!;
                document.Append(reply[1..]);
                if (reply[0] == 'l')
                    return document.ToString();
                Assert.Equal('m', reply[0]);
            }
        }
        string amd64 = Read(NewSession(new FakeGdbTarget()));
        Assert.Equal(GdbTargetDescription.Amd64, amd64);
        Assert.Equal("i386:x86-64", XDocument.Parse(amd64).Root!.Element("architecture")!.Value);
        string i386 = Read(NewSession(new FakeGdbTarget(longMode: false)));
        Assert.Equal(GdbTargetDescription.I386, i386);
        var session = NewSession(new FakeGdbTarget());
        Assert.Equal(GdbSession.ErrorGeneral, Send(session, "qXfer:features:read:other.xml:0,100"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "qXfer:features:read:target.xml:zz,100"));
        Assert.Equal("l", Send(session, "qXfer:features:read:target.xml:ffff,100"));
    }

    [Fact]
    public void GAndPReadRegistersInTheDescriptionsOrderAndGAndPWriteThem()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        string g = Send(session, "g")!;
        Assert.Equal(X86RegisterLayout.Amd64.TotalBytes * 2, g.Length);
        // rip is register 16 (0x10), at byte 128.
        Assert.Equal("0000100000000000", Send(session, "p10"));
        Assert.Equal(g.Substring(128 * 2, 16), Send(session, "p10"));
        Assert.Equal("OK", Send(session, "P10=efbeadde00000000"));
        Assert.Equal(0xDEADBEEFUL, target.Registers[0].General.Rip);
        // Whole-file write: rbx (register 1) changed in a copy of g.
        var bytes = Convert.FromHexString(Send(session, "g")!);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 0x42);
        Assert.Equal("OK", Send(session, "G" + Convert.ToHexString(bytes).ToLowerInvariant()));
        Assert.Equal(0x42UL, target.Registers[0].General.Rbx);
        Assert.Equal(0xDEADBEEFUL, target.Registers[0].General.Rip);
        // cr3 (register 61, 0x3d) and cr8 (0x3f) come from the special registers; a cr8 with reserved bits is refused.
        target.Registers[0].Special.Cr3 = 0x80_0000;
        Assert.Equal("0000800000000000", Send(session, "p3d"));
        Assert.Equal("OK", Send(session, "P3f=0500000000000000"));
        Assert.Equal(5UL, target.Registers[0].Special.Cr8);
        Assert.Equal(GdbSession.ErrorGeneral, Send(session, "P3f=1000000000000000"));
        Assert.Equal(5UL, target.Registers[0].Special.Cr8);
    }

    [Theory]
    [InlineData("p")]
    [InlineData("pzz")]
    [InlineData("p99")]
    [InlineData("P10")]
    [InlineData("P10=1234")]
    [InlineData("P10=zzzzzzzzzzzzzzzz")]
    [InlineData("G00")]
    [InlineData("Gzz")]
    public void MalformedRegisterPacketsGetErrorsAndChangeNothing(string packet)
    {
        var target = new FakeGdbTarget();
        var before = target.Registers[0].General;
        Assert.StartsWith("E", Send(NewSession(target), packet));
        Assert.Equal(before, target.Registers[0].General);
    }

    [Fact]
    public void MemoryIsReadAsHexCutAtTheEndOfWhatIsMappedAndCappedToOneReply()
    {
        var session = NewSession(new FakeGdbTarget());
        Assert.Equal("00010203", Send(session, "m1000,4"));
        Assert.Equal("feff", Send(session, "m2ffe,10"));
        Assert.Equal(GdbSession.ErrorMemory, Send(session, "m0,4"));
        Assert.Equal(GdbSession.ErrorMemory, Send(session, "mffffffffffffffff,4"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "m1000"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "m10g0,4"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "m11111111111111111,4"));
        string big = Send(session, "m1000,100000")!;
        Assert.True(big.Length + 4 <= GdbServer.PacketSize, $"a {big.Length}-digit reply does not fit in one packet");
    }

    [Fact]
    public void MemoryIsWrittenFromHexOrBinaryAndTheLengthMustMatchTheData()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        Assert.Equal("OK", Send(session, "M1000,2:abcd"));
        Assert.Equal([0xAB, 0xCD], target.Memory[..2]);
        Assert.Equal("OK", Send(session, "X1002,3:#$}"));
        Assert.Equal("#$}"u8.ToArray(), target.Memory[2..5]);
        Assert.Equal("OK", Send(session, "X1000,0:"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "M1000,3:abcd"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "M1000,2:abcz"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "X1000,4:ab"));
        Assert.Equal(GdbSession.ErrorMemory, Send(session, "M0,1:00"));
        Assert.Equal(0xAB, target.Memory[0]);
    }

    [Fact]
    public void ContinueAndStepResumeTheRightVcpusAndTheNextStopIsReported()
    {
        var target = new FakeGdbTarget(vcpuCount: 3);
        var session = NewSession(target);
        Send(session, "qSupported:swbreak+;hwbreak+");
        Assert.Null(Send(session, "c"));
        Assert.True(session.IsRunning);
        Assert.Equal([GdbResumeAction.Continue, GdbResumeAction.Continue, GdbResumeAction.Continue], target.Resumes[^1]);
        Assert.Null(session.PollStop());
        target.PendingStop = new GdbStopEvent(1, GdbStopKind.SoftwareBreakpoint);
        Assert.Equal("T05thread:2;swbreak:;", session.PollStop());
        Assert.False(session.IsRunning);
        // The thread that stopped is now the current one.
        Assert.Equal("QC2", Send(session, "qC"));

        Assert.Null(Send(session, "vCont;s:3;c"));
        Assert.Equal([GdbResumeAction.Continue, GdbResumeAction.Continue, GdbResumeAction.Step], target.Resumes[^1]);
        target.PendingStop = new GdbStopEvent(2, GdbStopKind.Step);
        Assert.Equal("T05thread:3;", session.PollStop());

        Assert.Null(Send(session, "vCont;c:1"));
        Assert.Equal([GdbResumeAction.Continue, GdbResumeAction.Stay, GdbResumeAction.Stay], target.Resumes[^1]);
        target.PendingStop = new GdbStopEvent(0, GdbStopKind.WriteWatchpoint, 0x2000);
        Assert.Equal("T05thread:1;watch:2000;", session.PollStop());

        Assert.Equal("OK", Send(session, "Hc2"));
        Assert.Null(Send(session, "s"));
        Assert.Equal([GdbResumeAction.Stay, GdbResumeAction.Step, GdbResumeAction.Stay], target.Resumes[^1]);
        target.PendingStop = new GdbStopEvent(1, GdbStopKind.HardwareBreakpoint);
        Assert.Equal("T05thread:2;hwbreak:;", session.PollStop());

        Assert.Null(Send(session, "C05;100000"));
        Assert.Equal(0x10_0000UL, target.Registers[1].General.Rip);
        Assert.Equal("vCont;c;C;s;S", Send(session, "vCont?"));
    }

    [Theory]
    [InlineData("vCont;x")]
    [InlineData("vCont;s:9")]
    [InlineData("vCont;t")]
    [InlineData("vCont;Cz")]
    [InlineData("czz")]
    [InlineData("Cz")]
    public void MalformedResumePacketsGetErrorsAndResumeNothing(string packet)
    {
        var target = new FakeGdbTarget(vcpuCount: 2);
        var session = NewSession(target);
        Assert.StartsWith("E", Send(session, packet));
        Assert.Empty(target.Resumes);
        Assert.False(session.IsRunning);
    }

    [Fact]
    public void CtrlCStopsTheRunningTargetWithSigintOrReportsTheStopThatCameFirst()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        Assert.Null(session.Interrupt());
        Send(session, "c");
        Assert.Equal("T02thread:1;", session.Interrupt());
        Assert.Equal(1, target.StopAllCalls);
        Send(session, "c");
        target.PendingStop = new GdbStopEvent(0, GdbStopKind.Step);
        Assert.Equal("T05thread:1;", session.Interrupt());
    }

    [Fact]
    public void TheMachinesEndIsReportedAsAnExitAndEndsTheSession()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        Send(session, "c");
        target.ExitStatus = (0x21 << 1) | 1;
        Assert.Equal("W43", session.PollStop());
        Assert.True(session.Ended);
    }

    [Fact]
    public void BreakpointPacketsReachTheTargetAndItsAnswerBecomesTheReply()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        Assert.Equal("OK", Send(session, "Z0,100242,1"));
        Assert.Equal("OK", Send(session, "z2,2000,4;X1,0"));
        Assert.Equal([(true, GdbBreakpointType.Software, 0x100242UL, 1UL), (false, GdbBreakpointType.WriteWatchpoint, 0x2000UL, 4UL)], target.Breakpoints);
        target.BreakpointResult = GdbBreakpointResult.Unsupported;
        Assert.Equal("", Send(session, "Z3,2000,4"));
        target.BreakpointResult = GdbBreakpointResult.Failed;
        Assert.Equal(GdbSession.ErrorGeneral, Send(session, "Z1,100000,1"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "Z5,1000,1"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "Z0,1000"));
        Assert.Equal(GdbSession.ErrorInvalid, Send(session, "Z01000,1"));
        Assert.Equal(4, target.Breakpoints.Count);
    }

    [Fact]
    public void DetachAndKillEndTheSession()
    {
        var target = new FakeGdbTarget();
        var session = NewSession(target);
        Assert.Equal("OK", Send(session, "D"));
        Assert.True(target.Detached);
        Assert.True(session.Ended);

        target = new FakeGdbTarget();
        session = NewSession(target);
        Assert.Null(Send(session, "k"));
        Assert.True(target.Killed);
        Assert.True(session.Ended);
    }

    [Fact]
    public void NoPacketMakesTheSessionThrow()
    {
        string[] prefixes = ["", "m", "M", "X", "g", "G", "p", "P", "Z", "z", "H", "T", "q", "Q", "v", "vCont;", "c", "C", "s", "S", "qXfer:features:read:target.xml:", "qThreadExtraInfo,"];
        var text = Gen.OneOf(Gen.Char["0123456789abcdefxz,:;=-p.$#}*"], Gen.Char).Array[0, 40].Select(chars => new string(chars));
        Gen.Select(Gen.Int[0, prefixes.Length - 1].Select(i => prefixes[i]), text).Sample((prefix, rest) =>
        {
            var target = new FakeGdbTarget(vcpuCount: 2);
            var session = NewSession(target);
            _ = session.Handle(Encoding.Latin1.GetBytes(prefix + rest));
        });
    }
}
