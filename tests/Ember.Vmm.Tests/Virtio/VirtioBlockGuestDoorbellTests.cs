using Ember.Devices.Virtio.Block;
using Ember.Kvm;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Queue doorbells through real KVM, driven by the assembled guest: the 2-byte datamatch ioeventfds Ember falls back
/// to without KVM_CAP_IOEVENTFD_ANY_LENGTH (forced here, since this host has the capability), and a multi-queue disk
/// (a queue per vCPU) whose second queue has a doorbell of its own. "No exit" is the transport's count of notify
/// writes that reached it as MMIO exits.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestDoorbellTests : IDisposable
{
    private const uint Sector = VirtioBlockStep.SectorSize;
    private const uint MultiQueue = (uint)BlockFeature.MultiQueue;
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-doorbell-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string WriteImage(int length, byte seed, out byte[] image)
    {
        image = new byte[length];
        for (int i = 0; i < length; i++)
            image[i] = (byte)((i * 13) ^ (i >> 9) ^ seed);
        string path = Path.Combine(_directory, $"disk-{seed}.img");
        File.WriteAllBytes(path, image);
        return path;
    }

    private static uint ChecksumOf(byte[] image, ulong sector, uint length) =>
        VirtioBlockChecksum.Compute(image.AsSpan((int)(sector * Sector), (int)length));

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void ForcedDatamatchDoorbellsServeEveryNotifyWithoutAnExit(IrqchipMode irqchip)
    {
        string disk = WriteImage(64 * 1024, 1, out byte[] image);
        var program = new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, 4096, count: 16, sectorStride: 8), VirtioBlockStep.Write(3, Sector, fillSeed: 9)] };
        bool? anyLength = null;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip,
            inspect: vm => anyLength = vm.Virtio.DoorbellsMatchAnyLength,
            configure: c => c with { AnyLengthDoorbells = false });

        result.AssertSucceeded();
        Assert.False(anyLength);
        Assert.Equal(ChecksumOf(image, 0, 16 * 4096), result.Report.Steps[0].Checksum);
        Assert.Equal(VirtioBlockChecksum.FillPattern(9, Sector), File.ReadAllBytes(disk).AsSpan(3 * (int)Sector, (int)Sector).ToArray());
        Assert.Equal([1], result.AttachedDoorbells);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Fact]
    public void ADatamatchDoorbellLetsADwordNotifyExitAndTheTransportStillServesIt()
    {
        // The proof that the fallback really matches 16-bit writes of the index: a dword write is not one, exits, and is counted.
        string disk = WriteImage(64 * 1024, 2, out byte[] image);
        var program = new VirtioBlockGuestProgram { NotifyWidth = 4, Steps = [VirtioBlockStep.Read(8, 4096, count: 5)] };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], configure: c => c with { AnyLengthDoorbells = false });

        result.AssertSucceeded();
        Assert.Equal(ChecksumOf(image, 8, 5 * 4096), result.Report.Steps[0].Checksum);
        Assert.Equal([1], result.AttachedDoorbells);
        Assert.Equal([5L], result.NotifyRegionWrites);
    }

    [Fact]
    public void AZeroLengthDoorbellTakesADwordNotifyWithoutAnExit()
    {
        Assert.SkipUnless(KvmSystem.IsAvailable(), "/dev/kvm is not available on this host");
        using (var kvm = KvmSystem.Open())
            Assert.SkipUnless(kvm.HasCapability(KvmCapability.IoEventFdAnyLength), "this host has no KVM_CAP_IOEVENTFD_ANY_LENGTH");
        string disk = WriteImage(64 * 1024, 3, out _);
        var program = new VirtioBlockGuestProgram { NotifyWidth = 4, Steps = [VirtioBlockStep.Read(8, 4096, count: 5)] };
        bool? anyLength = null;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], inspect: vm => anyLength = vm.Virtio.DoorbellsMatchAnyLength);

        result.AssertSucceeded();
        Assert.True(anyLength);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(false)]
    public void WithTwoVcpusTheDiskHasTwoQueuesAndRequestsOnQueueOneCompleteThroughItsOwnDoorbell(bool? anyLength)
    {
        string disk = WriteImage(128 * 1024, 4, out byte[] image);
        var program = new VirtioBlockGuestProgram
        {
            QueueCount = 2,
            DriverFeatures = MultiQueue,
            Steps =
            [
                VirtioBlockStep.Read(0, 4096),                          // 0: queue 0
                VirtioBlockStep.Read(16, 8192, queue: 1),               // 1: queue 1
                VirtioBlockStep.Write(40, 2 * Sector, fillSeed: 77, queue: 1), // 2
                VirtioBlockStep.Read(40, 2 * Sector),                   // 3: queue 1's write, read on queue 0
                VirtioBlockStep.GetId(queue: 1),                        // 4
                VirtioBlockStep.Flush(queue: 1),                        // 5
            ],
        };
        int queues = 0;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)],
            inspect: vm => queues = vm.Virtio.Disks[0].Device.QueueCount,
            configure: c => c with { VcpuCount = 2, AnyLengthDoorbells = anyLength });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.Equal(2, queues);
        Assert.Equal(ChecksumOf(image, 0, 4096), result.Report.Steps[0].Checksum);
        Assert.Equal(ChecksumOf(image, 16, 8192), result.Report.Steps[1].Checksum);
        byte[] filled = VirtioBlockChecksum.FillPattern(77, 2 * Sector);
        Assert.Equal(VirtioBlockChecksum.Compute(filled), result.Report.Steps[3].Checksum);
        Assert.Equal(filled, File.ReadAllBytes(disk).AsSpan(40 * (int)Sector, 2 * (int)Sector).ToArray());
        Assert.Equal("disk0", result.Report.Steps[4].Id);
        // Both queues' doorbells (queue 1's at its own address, matching index 1 in the fallback); no notify exited.
        Assert.Equal([2], result.AttachedDoorbells);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Fact]
    public void WithOneVcpuTheDiskOffersNoSecondQueue()
    {
        string disk = WriteImage(64 * 1024, 5, out _);
        var program = new VirtioBlockGuestProgram { QueueCount = 2, Steps = [VirtioBlockStep.Flush(queue: 1)] };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)]);
        Assert.Equal(VirtioGuestOutcome.QueueTooSmall, result.Outcome);
    }
}
