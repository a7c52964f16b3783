using Ember.TestGuests.Virtio;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>The rng, vsock and net test guests' report parsers, without a machine: what they read and what they skip.</summary>
public sealed class VirtioGuestReportTests
{
    [Fact]
    public void TheFoundLineNeedsTheDevicesNameAndAllThreeFields()
    {
        Assert.True(VirtioGuestFoundLine.TryParse("virtio-rng", "virtio-rng slot 03 common c1008000 notify c100b000 tail", out var found, out string rest));
        Assert.Equal(new VirtioGuestFoundLine(3, 0xC100_8000, 0xC100_B000), found);
        Assert.Equal(" tail", rest);
        Assert.False(VirtioGuestFoundLine.TryParse("virtio-rng", "virtio-net slot 03 common c1008000 notify c100b000", out _, out _));
        Assert.False(VirtioGuestFoundLine.TryParse("virtio-rng", "virtio-rng slot 03 common c1008000", out _, out _));
    }

    [Fact]
    public void TheEntropyReportReadsTheCountsAndFirstBytesOrTheFailure()
    {
        var report = VirtioEntropyGuestReport.Parse(
            "noise\nvirtio-rng slot 01 common c1000000 notify c1003000\nentropy bytes 00000010 requests 00000002 first 00 ff 7a\ndone\n");
        Assert.Equal(1, report.Found?.Slot);
        Assert.Equal(16u, report.Bytes);
        Assert.Equal(2u, report.Requests);
        Assert.Equal([0x00, 0xFF, 0x7A], report.FirstBytes);
        Assert.True(report.Done);
        Assert.Null(report.Failure);

        var failed = VirtioEntropyGuestReport.Parse("FAIL 21 bytes 00000004 requests 00000001\n");
        Assert.Equal(VirtioGuestOutcome.WrongUsedLength, failed.Failure);
        Assert.Equal(4u, failed.Bytes);
        Assert.False(failed.Done);
    }

    [Fact]
    public void TheVsockReportReadsConnectionsClosesAndTheFailure()
    {
        var report = VirtioVsockGuestReport.Parse(
            "virtio-vsock slot 02 common c1008000 notify c100b000 cid 0000002a\nvsock ready\nstep 00 connected 00001388\n" +
            "step 00 closed echoed 00002710\nstep 01 connected 40000000\nFAIL 40 step 00000001 op 03\n");
        Assert.Equal(2, report.Found?.Slot);
        Assert.Equal(42u, report.GuestCid);
        Assert.True(report.Ready);
        Assert.Equal([(0, 5000u), (1, 0x4000_0000u)], report.Connected);
        Assert.Equal([(0, 10_000u)], report.Closed);
        Assert.Equal((VirtioGuestOutcome.VsockReset, 1, (ushort)3), report.Failure);
        Assert.False(report.Done);
        Assert.Null(VirtioVsockGuestReport.Parse("FAIL 10 step ffffffff op 00\n").Failure?.Step);
    }

    [Fact]
    public void TheNetReportReadsTheHostMacAndTheReply()
    {
        var report = VirtioNetGuestReport.Parse(
            "virtio-net slot 01 common c1000000 notify c1003000\narp reply from 56 3a 40 f2 39 e3\necho reply bytes 00000412 skipped 00000002\ndone\n");
        Assert.Equal(1, report.Found?.Slot);
        Assert.Equal([0x56, 0x3A, 0x40, 0xF2, 0x39, 0xE3], report.HostMac);
        Assert.Equal(0x412u, report.ReplyLength);
        Assert.Equal(2u, report.Skipped);
        Assert.True(report.Done);
        Assert.Equal((VirtioGuestOutcome.NetWrongReply, VirtioNetGuestStage.Echo), VirtioNetGuestReport.Parse("FAIL 50 stage 02 skipped 00000000\n").Failure);
    }

    [Fact]
    public void ANetProgramTheGuestCannotRunIsRefusedBeforeItIsAssembled()
    {
        var program = new VirtioNetGuestProgram { GuestMac = [2, 0, 0, 0, 0, 1], GuestIp = [10, 0, 0, 2], HostIp = [10, 0, 0, 1] };
        Assert.Null(program.Problem());
        Assert.Contains("unicast", (program with { GuestMac = [1, 0, 0, 0, 0, 1] }).Problem());
        Assert.Contains("4 bytes", (program with { HostIp = [10, 0, 1] }).Problem());
        Assert.Contains("at most 1472", (program with { Payload = new byte[1473] }).Problem());
        Assert.Throws<ArgumentException>(() => VirtioNetGuest.Build(program with { QueueSize = 4 }));
    }
}
