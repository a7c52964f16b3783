using Ember.Devices.Virtio.Transport;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-blk device driven through real KVM by an assembled guest driver (<see cref="VirtioBlockGuest"/>):
/// PCI configuration mechanism #1, the virtio capabilities and BAR 0, feature negotiation, a split queue,
/// doorbells in the notify region (served by ioeventfds) and completions by polling the used ring. Linux never
/// reaches PCI on kvm_pvm, so this is where the whole path runs on every host. The host checks what the guest
/// read against the image it wrote, and the image against what the guest wrote.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestTests : IDisposable
{
    private const uint Sector = VirtioBlockStep.SectorSize;
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-guest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A disk image of <paramref name="length"/> bytes no two sectors of which are alike (xorshift32).</summary>
    private string WriteImage(string name, int length, uint seed, out byte[] image)
    {
        image = new byte[length];
        uint state = seed;
        for (int i = 0; i < length; i += 4)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            BitConverter.TryWriteBytes(image.AsSpan(i), state);
        }
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, image);
        return path;
    }

    private static uint ChecksumOf(byte[] image, ulong sector, uint length) =>
        VirtioBlockChecksum.Compute(image.AsSpan((int)(sector * Sector), (int)length));

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void TheGuestReadsWhatTheHostWroteAndItsWritesLandInTheImage(IrqchipMode irqchip)
    {
        string disk = WriteImage("disk0.img", 1 << 20, 0x1234_5678, out byte[] original);
        const uint fillSeed = 0xC0DE_0000;
        var program = new VirtioBlockGuestProgram
        {
            Steps =
            [
                VirtioBlockStep.GetId(),                                        // 0
                VirtioBlockStep.Read(3, 4096),                                  // 1
                VirtioBlockStep.Read(40, 8 * Sector, count: 4),                 // 2: sectors 40–71, in order
                VirtioBlockStep.Write(100, 2 * Sector, fillSeed),               // 3
                VirtioBlockStep.Read(10, 4096, checksum: false),                // 4: what step 5 writes back
                VirtioBlockStep.Write(300, 4096, fillSeed: null),               // 5: a copy of sectors 10–17
                VirtioBlockStep.Flush(),                                        // 6
                VirtioBlockStep.Read(100, 2 * Sector),                          // 7: step 3's write, read back
                VirtioBlockStep.Read(2047, Sector),                             // 8: the last sector
            ],
        };
        byte[] bufferAfter = [];
        ulong? barAddress = null;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
        {
            bufferAfter = vm.Memory.GetSpan(new(VirtioBlockGuestLayout.DataBuffer), 2 * (int)Sector).ToArray();
            barAddress = vm.Virtio.Functions[0].Configuration.DecodedBarAddress(VirtioPciLayout.Bar);
        });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        var report = result.Report;
        Assert.Equal(1, report.Slot);
        Assert.Equal(2048UL, report.CapacitySectors);
        // The guest found the structures where the capabilities say they are: BAR 0 + their offsets.
        Assert.NotNull(barAddress);
        Assert.Equal((uint)(barAddress + VirtioPciLayout.CommonOffset), report.CommonConfiguration);
        Assert.Equal((uint)(barAddress + VirtioPciLayout.NotifyOffset), report.NotifyAddress);
        Assert.Equal(Enumerable.Range(0, program.Steps.Count), report.Steps.Select(s => s.Index));
        Assert.Equal("disk0", report.Steps[0].Id);
        Assert.Equal(ChecksumOf(original, 3, 4096), report.Steps[1].Checksum);
        Assert.Equal(ChecksumOf(original, 40, 32 * Sector), report.Steps[2].Checksum);
        byte[] filled = VirtioBlockChecksum.FillPattern(fillSeed, 2 * Sector);
        Assert.Equal(VirtioBlockChecksum.Compute(filled), report.Steps[7].Checksum);
        Assert.Equal(ChecksumOf(original, 2047, Sector), report.Steps[8].Checksum);
        Assert.Equal(original.AsSpan(2047 * (int)Sector).ToArray(), bufferAfter[..(int)Sector]);

        var expected = (byte[])original.Clone();
        filled.CopyTo(expected, 100 * Sector);
        original.AsSpan(10 * (int)Sector, 4096).CopyTo(expected.AsSpan(300 * (int)Sector));
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(disk)), "the image is not what the guest's two writes should have made it");

        // Every notification went through the doorbell: none reached the notify region as an exit.
        Assert.Equal([1], result.AttachedDoorbells);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void OnlyANotificationBeforeDriverOkExitsToTheVmmAndTheRestGoThroughTheDoorbell(IrqchipMode irqchip)
    {
        string disk = WriteImage("disk0.img", 1 << 20, 7, out byte[] original);
        var program = new VirtioBlockGuestProgram
        {
            NotifyBeforeDriverOk = true,
            Steps = [VirtioBlockStep.Read(0, 4096, count: 64, sectorStride: 0)],
        };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip);
        result.AssertSucceeded();
        // 64 identical reads fold the same data 64 times.
        uint expected = 0;
        for (int i = 0; i < 64; i++)
            expected = VirtioBlockChecksum.Compute(original.AsSpan(0, 4096), expected);
        Assert.Equal(expected, result.Report.Steps[0].Checksum);
        // The early write found no doorbell (they are attached at DRIVER_OK), exited and was counted; the 64 after did not.
        Assert.Equal([1L], result.NotifyRegionWrites);
        Assert.Equal([1], result.AttachedDoorbells);
    }

    [Fact]
    public void AGuestThatReassignsTheBarReachesTheDeviceAndItsDoorbellAtTheNewAddress()
    {
        string disk = WriteImage("disk0.img", 64 * 1024, 99, out byte[] original);
        // Near the top of the PCI window, far from where Ember placed the BAR.
        uint newBase = (uint)(Layout.PciMmio32Start + Layout.PciMmio32Size - 0x10_0000);
        var program = new VirtioBlockGuestProgram
        {
            BarAssignmentBase = newBase,
            ReassignBars = true,
            Steps = [VirtioBlockStep.Read(1, 8 * Sector, count: 8, sectorStride: 0), VirtioBlockStep.Write(5, Sector, fillSeed: 42)],
        };
        ulong? decoded = null;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], inspect: vm =>
            decoded = vm.Virtio.Functions[0].Configuration.DecodedBarAddress(VirtioPciLayout.Bar));
        result.AssertSucceeded();
        Assert.Equal(newBase, decoded);
        Assert.Equal(newBase + VirtioPciLayout.CommonOffset, result.Report.CommonConfiguration);
        Assert.Equal(newBase + VirtioPciLayout.NotifyOffset, result.Report.NotifyAddress);
        Assert.Equal(VirtioBlockChecksum.FillPattern(42, Sector), File.ReadAllBytes(disk).AsSpan(5 * (int)Sector, (int)Sector).ToArray());
        Assert.NotEqual(original.AsSpan(5 * (int)Sector, (int)Sector).ToArray(), VirtioBlockChecksum.FillPattern(42, Sector));
        // The doorbell followed the BAR: no notification exited.
        Assert.Equal([1], result.AttachedDoorbells);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void TwoHundredFiftySixReadsOf64KiBBringTheWholeImageIntoGuestMemoryInOrder(IrqchipMode irqchip)
    {
        const uint length = 64 * 1024, count = 256;
        string disk = WriteImage("disk0.img", (int)(length * count), 0xBEEF, out byte[] original);
        // No guest checksum: on a software KVM it would cost more than the I/O. The host compares memory instead.
        var program = new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Read(0, length, count, checksum: false, spreadBuffer: true)] };
        bool same = false;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
            same = vm.Memory.GetSpan(new(VirtioBlockGuestLayout.DataBuffer), original.Length).SequenceEqual(original));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{irqchip}: {count} × {length / 1024} KiB in {result.RequestPhase?.TotalMilliseconds:F1} ms (run {result.Elapsed.TotalMilliseconds:F1} ms, {result.MmioExits} MMIO exits)");
        result.AssertSucceeded();
        Assert.True(same, "guest memory does not hold the image the guest read");
        Assert.NotNull(result.RequestPhase);
        Assert.Equal([0L], result.NotifyRegionWrites);
    }

    [Fact]
    public void MarkingEachStepMarksBeforeAndAfterEveryStepAndRepeatedRequestsAtOneSectorAllReachTheDisk()
    {
        string disk = WriteImage("disk0.img", 64 * 1024, 5, out byte[] original);
        // What the guest benchmark runs (bench/Ember.Bench.GuestVirtio): the same sector again and again, marked per step.
        var program = new VirtioBlockGuestProgram
        {
            MarkEachStep = true,
            Steps = [VirtioBlockStep.Read(16, 4096, count: 5, checksum: false, sectorStride: 0), VirtioBlockStep.Write(64, 4096, fillSeed: 9, count: 3, sectorStride: 0)],
        };
        long reads = 0, writes = 0;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], inspect: vm =>
        {
            reads = vm.Virtio.Disks[0].Device.Reads;
            writes = vm.Virtio.Disks[0].Device.Writes;
        });
        result.AssertSucceeded();
        Assert.Equal(4, result.Marks);
        Assert.Equal(5, reads);
        Assert.Equal(3, writes);
        byte[] after = File.ReadAllBytes(disk);
        Assert.Equal(VirtioBlockChecksum.FillPattern(9, 4096), after.AsSpan(64 * (int)Sector, 4096).ToArray());
        Assert.Equal(original.AsSpan(72 * (int)Sector).ToArray(), after.AsSpan(72 * (int)Sector).ToArray());
    }

    [Fact]
    public void TheGuestDrivesTheSecondDiskWhichRefusesWritesAsReadOnly()
    {
        string first = WriteImage("disk0.img", 64 * 1024, 1, out _);
        string second = WriteImage("disk1.img", 128 * 1024, 2, out byte[] secondImage);
        var program = new VirtioBlockGuestProgram
        {
            DeviceIndex = 1,
            Steps =
            [
                VirtioBlockStep.GetId(),
                VirtioBlockStep.Write(0, Sector, fillSeed: 5, expectedStatus: 1),   // VIRTIO_BLK_S_IOERR
                VirtioBlockStep.Read(0, 4 * Sector),
            ],
        };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", first), new DriveConfig("ro-disk", second, ReadOnly: true)]);
        result.AssertSucceeded();
        Assert.Equal(2, result.Report.Slot);
        Assert.Equal(256UL, result.Report.CapacitySectors);
        Assert.Equal("ro-disk", result.Report.Steps[0].Id);
        Assert.Equal(ChecksumOf(secondImage, 0, 4 * Sector), result.Report.Steps[2].Checksum);
        Assert.Equal(secondImage, File.ReadAllBytes(second));
        // Only the disk the guest set up has a doorbell; it never rang as an exit.
        Assert.Equal([0, 1], result.AttachedDoorbells);
        Assert.Equal([0L, 0L], result.NotifyRegionWrites);
    }

    [Fact]
    public void AStatusOtherThanTheExpectedOneStopsTheGuestWithTheStepAndRequestThatFailed()
    {
        string disk = WriteImage("disk0.img", 64 * 1024, 3, out _);
        // The third read runs past the end of the 128-sector disk: IOERR where the step expects OK.
        var program = new VirtioBlockGuestProgram { Steps = [VirtioBlockStep.Flush(), VirtioBlockStep.Read(96, 16 * Sector, count: 3)] };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)]);
        Assert.Equal(VirtioGuestOutcome.WrongStatus, result.Outcome);
        Assert.False(result.Report.Done);
        Assert.Equal(new VirtioBlockGuestFailure(VirtioGuestOutcome.WrongStatus, 1, 2, 1), result.Report.Failure);
        Assert.Equal([0], result.Report.Steps.Select(s => s.Index));
    }

    [Fact]
    public void WithoutTheDiskItLooksForTheGuestSaysSo()
    {
        string disk = WriteImage("disk0.img", 64 * 1024, 4, out _);
        var program = new VirtioBlockGuestProgram { DeviceIndex = 1, Steps = [VirtioBlockStep.Flush()] };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)]);
        Assert.Equal(VirtioGuestOutcome.NoDevice, result.Outcome);
        Assert.Equal(new VirtioBlockGuestFailure(VirtioGuestOutcome.NoDevice, null, 0, 0), result.Report.Failure);
    }
}
