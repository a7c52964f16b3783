using System.Buffers;
using System.Text.Json;
using Ember.Devices.Virtio.Block;
using Ember.Sys;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// DISCARD and WRITE_ZEROES from the assembled guest driver through real KVM: the guest negotiates both, sends them
/// down its queue, and the host finds the image file changed as they say: the ranges read zero and the punched ones
/// gave their blocks back to the file system. Refused requests (unmap on a discard, a range past the end) fail alone.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestDiscardTests : IDisposable
{
    private const uint Sector = VirtioBlockStep.SectorSize;
    private const int ImageSectors = 2048;
    private const uint DiscardAndWriteZeroes = (uint)(BlockFeature.Discard | BlockFeature.WriteZeroes);
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-discard-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A 1 MiB image with no zero dword in it, on disk (fsynced) so every block is allocated.</summary>
    private string WriteImage(out byte[] image)
    {
        image = new byte[ImageSectors * (int)Sector];
        uint state = 0x5EED_1234;
        for (int i = 0; i < image.Length; i += 4)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            BitConverter.TryWriteBytes(image.AsSpan(i), state | 1);
        }
        string path = Path.Combine(_directory, "disk0.img");
        File.WriteAllBytes(path, image);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(file);
        return path;
    }

    private static long AllocatedBytes(string path)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return FileSpace.AllocatedBytes(file);
    }

    /// <summary>Whether the test directory's file system punches holes, tried on a file of its own.</summary>
    private bool CanPunchHoles()
    {
        string probe = Path.Combine(_directory, "probe");
        File.WriteAllBytes(probe, new byte[8192]);
        using var file = File.OpenHandle(probe, FileMode.Open, FileAccess.ReadWrite);
        return FileSpace.TryPunchHole(file, 0, 4096);
    }

    private static void Zero(byte[] image, ulong sector, uint sectors) => image.AsSpan((int)(sector * Sector), (int)(sectors * Sector)).Clear();

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void TheGuestsDiscardAndWriteZeroesChangeTheImageFileAsTheySay(IrqchipMode irqchip)
    {
        string disk = WriteImage(out byte[] original);
        long allocatedBefore = AllocatedBytes(disk);
        var program = new VirtioBlockGuestProgram
        {
            DriverFeatures = DiscardAndWriteZeroes,
            Steps =
            [
                VirtioBlockStep.Discard(128, 256),                               // 0: 64 KiB..192 KiB, a hole
                VirtioBlockStep.WriteZeroes(520, 24),                            // 1: zeroed in place
                VirtioBlockStep.WriteZeroes(1024, 256, unmap: true),             // 2: 512 KiB..640 KiB, may be a hole
                VirtioBlockStep.Read(128, 256 * Sector),                         // 3: the discarded range, read back
                VirtioBlockStep.Discard(0, 8, flags: 1, expectedStatus: 2),      // 4: unmap on a discard: UNSUPP
                VirtioBlockStep.WriteZeroes(ImageSectors - 1, 2, expectedStatus: 1), // 5: past the end: IOERR
                VirtioBlockStep.Discard(1536, 8, flags: 0x10, expectedStatus: 2),    // 6: a reserved flag: UNSUPP
                VirtioBlockStep.Read(0, 8 * Sector),                             // 7: step 4 left sector 0 alone
            ],
        };
        long discards = 0, zeroWrites = 0;
        JsonElement metrics = default;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
        {
            (discards, zeroWrites) = (vm.Virtio.Disks[0].Device.Discards, vm.Virtio.Disks[0].Device.ZeroWrites);
            var buffer = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                vm.Metrics.WriteJson(json);
                json.WriteEndObject();
            }
            metrics = JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("block").GetProperty("disk0").Clone();
        });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.Equal(1, discards);
        Assert.Equal(2, zeroWrites);
        // The metrics line counts what was answered OK, not the refused ones.
        Assert.Equal(1, metrics.GetProperty("discard_count").GetInt64());
        Assert.Equal(2, metrics.GetProperty("write_zeroes_count").GetInt64());
        Assert.Equal(VirtioBlockChecksum.Compute(new byte[256 * Sector]), result.Report.Steps[3].Checksum);
        Assert.Equal(VirtioBlockChecksum.Compute(original.AsSpan(0, 8 * (int)Sector)), result.Report.Steps[7].Checksum);

        var expected = (byte[])original.Clone();
        Zero(expected, 128, 256);
        Zero(expected, 520, 24);
        Zero(expected, 1024, 256);
        byte[] after = File.ReadAllBytes(disk);
        Assert.Equal(expected.Length, after.Length);
        Assert.True(expected.AsSpan().SequenceEqual(after), "the image is not the original with exactly the three ranges zeroed");
        Assert.Equal([0L], result.NotifyRegionWrites);
        Assert.SkipUnless(CanPunchHoles(), $"the file system under {_directory} cannot punch holes; the image's data was checked");
        // The discard and the unmapping write-zeroes punched holes: 256 KiB went back to the file system, less the
        // block or two of extent tree it may take to describe the holes (ext4 does: the inode holds only four extents).
        long freed = allocatedBefore - AllocatedBytes(disk);
        Assert.True(freed >= 240 * 1024, $"the image's allocation shrank by {freed} bytes, not the 256 KiB punched ({allocatedBefore} before)");
    }

    [Fact]
    public void AGuestThatDoesNotNegotiateThemIsAnsweredUnsupportedAndTheImageKeepsItsData()
    {
        string disk = WriteImage(out byte[] original);
        var program = new VirtioBlockGuestProgram
        {
            Steps = [VirtioBlockStep.Discard(0, 64, expectedStatus: 2), VirtioBlockStep.WriteZeroes(64, 64, expectedStatus: 2)],
        };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)]);
        result.AssertSucceeded();
        Assert.Equal(original, File.ReadAllBytes(disk));
    }

    [Fact]
    public void AReadOnlyDiskDoesNotOfferThem()
    {
        string disk = WriteImage(out byte[] original);
        var program = new VirtioBlockGuestProgram { DriverFeatures = DiscardAndWriteZeroes, Steps = [VirtioBlockStep.Discard(0, 64)] };
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk, ReadOnly: true)]);
        Assert.Equal(VirtioGuestOutcome.FeatureMissing, result.Outcome);
        Assert.Equal(original, File.ReadAllBytes(disk));
    }
}
