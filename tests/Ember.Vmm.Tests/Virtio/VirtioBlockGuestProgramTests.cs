using Ember.TestGuests.Virtio;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>The virtio-blk test guest's program checks and report parser, without a machine.</summary>
public sealed class VirtioBlockGuestProgramTests
{
    [Theory]
    [InlineData(0, 512u, 1u, false, "queue size")]
    [InlineData(24, 512u, 1u, false, "queue size")]
    [InlineData(16, 500u, 1u, false, "whole sectors")]
    [InlineData(16, 512u, 0u, false, "at least one request")]
    [InlineData(16, 65536u, 257u, true, "spread over the buffer")]
    public void AProgramTheGuestCannotRunIsRefusedBeforeItIsAssembled(ushort queueSize, uint length, uint count, bool spread, string why)
    {
        var program = new VirtioBlockGuestProgram { QueueSize = queueSize, Steps = [VirtioBlockStep.Read(0, length, count, spreadBuffer: spread)] };
        Assert.Contains(why, program.Problem());
        var e = Assert.Throws<ArgumentException>(() => VirtioBlockGuest.Build(program));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void QueuesDoorbellWidthsAndRangeStepsAreCheckedBeforeAssembly()
    {
        var read = VirtioBlockStep.Read(0, 512);
        Assert.Contains("queue 1 is not set up", new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, 512, queue: 1)] }.Problem());
        Assert.Contains("1 to 4 queues", new VirtioBlockGuestProgram { QueueCount = 5, Steps = [read] }.Problem());
        Assert.Contains("2 or 4 bytes", new VirtioBlockGuestProgram { NotifyWidth = 1, Steps = [read] }.Problem());
        Assert.Contains("16-byte segment", new VirtioBlockGuestProgram { Steps = [new VirtioBlockStep(VirtioBlockStepKind.Discard, 0, 32)] }.Problem());
        Assert.Contains("hold is before one of the 1 steps", new VirtioBlockGuestProgram { HoldBeforeStep = 1, Steps = [read] }.Problem());
        Assert.Contains("hold is before one of the 1 steps", new VirtioBlockGuestProgram { HoldBeforeStep = -1, Steps = [read] }.Problem());
        Assert.Null(new VirtioBlockGuestProgram { HoldBeforeStep = 0, ParkWhenDone = true, Steps = [read] }.Problem());
        Assert.Contains("needs a RequestPhaseMarker", new VirtioBlockGuestProgram { MarkEachStep = true, Steps = [read] }.Problem());
        Assert.Null(new VirtioBlockGuestProgram { MarkEachStep = true, RequestPhaseMarker = 0xC000_0000, Steps = [read] }.Problem());
        var fine = new VirtioBlockGuestProgram
        {
            QueueCount = 4,
            NotifyWidth = 4,
            DriverFeatures = 1u << 12,
            Steps = [VirtioBlockStep.Discard(0, 8, queue: 3), VirtioBlockStep.WriteZeroes(8, 8, unmap: true, queue: 2)],
        };
        Assert.Null(fine.Problem());
        Assert.NotEmpty(VirtioBlockGuest.Build(fine));
        Assert.Equal(8UL, fine.Steps[0].Stride);
    }

    [Fact]
    public void TheLargestSpreadReadFitsTheBufferAndAssembles()
    {
        var program = new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, 65536, 256, spreadBuffer: true)] };
        Assert.Null(program.Problem());
        Assert.NotEmpty(VirtioBlockGuest.Build(program));
    }

    [Fact]
    public void TheReportReadsTheDeviceLineStepsAndFailureAndSkipsOtherOutput()
    {
        var report = VirtioBlockGuestReport.Parse(
            "noise\nvirtio-blk slot 02 common c1008000 notify c100b000 capacity 0000000100000000\n" +
            "step 00 ok id ro-disk\nstep 01 ok sum 0badf00d\nstep 02 ok\nFAIL 22 step 00000003 request 00000007 status 01\n");
        Assert.Equal(2, report.Slot);
        Assert.Equal(0xC100_8000u, report.CommonConfiguration);
        Assert.Equal(0xC100_B000u, report.NotifyAddress);
        Assert.Equal(1UL << 32, report.CapacitySectors);
        Assert.Equal([new VirtioBlockStepReport(0, null, "ro-disk"), new VirtioBlockStepReport(1, 0x0BAD_F00D, null), new VirtioBlockStepReport(2, null, null)], report.Steps);
        Assert.Equal(new VirtioBlockGuestFailure(VirtioGuestOutcome.WrongStatus, 3, 7, 1), report.Failure);
        Assert.False(report.Done);
    }

    [Fact]
    public void TheChecksumIsOrderSensitive()
    {
        byte[] ab = [1, 0, 0, 0, 2, 0, 0, 0], ba = [2, 0, 0, 0, 1, 0, 0, 0];
        Assert.Equal((1u << 5) + 2, VirtioBlockChecksum.Compute(ab));
        Assert.NotEqual(VirtioBlockChecksum.Compute(ab), VirtioBlockChecksum.Compute(ba));
    }
}
