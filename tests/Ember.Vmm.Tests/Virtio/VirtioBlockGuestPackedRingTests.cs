using Ember.Devices.Virtio;
using Ember.Devices.Virtio.Block;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-blk over a packed virtqueue (VIRTIO_F_RING_PACKED, virtio 1.2 §2.8) through real KVM: the assembled
/// guest driver negotiates packed rings, writes its chains into a descriptor ring of 7 (not a power of two) that wraps
/// many times, and polls the used descriptors; the host checks the data both ways. With MSI-X off, each used descriptor
/// asserts INTx until the driver reads ISR.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestPackedRingTests : IDisposable
{
    private const uint Sector = VirtioBlockStep.SectorSize;
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-packed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void AGuestOnAPackedRingReadsAndWritesTheImageAcrossManyWraps(IrqchipMode irqchip)
    {
        var original = new byte[1 << 20];
        new Random(0x5EED).NextBytes(original);
        string disk = Path.Combine(_directory, "disk0.img");
        File.WriteAllBytes(disk, original);
        const uint fillSeed = 0xFACE_0000;
        var program = new VirtioBlockGuestProgram
        {
            PackedRing = true,
            QueueSize = 7,
            Steps =
            [
                VirtioBlockStep.GetId(),                                        // 0
                VirtioBlockStep.Read(40, 8 * Sector, count: 16),                // 1: 16 chains of 3 descriptors: 48 in a ring of 7
                VirtioBlockStep.Write(100, 2 * Sector, fillSeed),               // 2
                VirtioBlockStep.Flush(),                                        // 3: a chain of 2
                VirtioBlockStep.Read(100, 2 * Sector),                          // 4: step 2's write, read back
                VirtioBlockStep.Read(2047, Sector, count: 5, sectorStride: 0),  // 5
            ],
        };
        ulong negotiated = 0;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
            negotiated = ((VirtioBlock)vm.Virtio.Functions[0].Device).NegotiatedFeatures);
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.NotEqual(0UL, negotiated & VirtioFeature.RingPacked);
        var report = result.Report;
        Assert.Equal("disk0", report.Steps[0].Id);
        Assert.Equal(VirtioBlockChecksum.Compute(original.AsSpan(40 * (int)Sector, 128 * (int)Sector)), report.Steps[1].Checksum);
        byte[] filled = VirtioBlockChecksum.FillPattern(fillSeed, 2 * Sector);
        Assert.Equal(VirtioBlockChecksum.Compute(filled), report.Steps[4].Checksum);
        uint last = 0;
        for (int i = 0; i < 5; i++)
            last = VirtioBlockChecksum.Compute(original.AsSpan(2047 * (int)Sector, (int)Sector), last);
        Assert.Equal(last, report.Steps[5].Checksum);
        var expected = (byte[])original.Clone();
        filled.CopyTo(expected, 100 * Sector);
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(disk)), "the image is not what the guest's write should have made it");
    }

    /// <summary>
    /// With MSI-X off and the driver event suppression structure saying ENABLE, every used descriptor the device writes
    /// asserts INTx until the driver reads ISR (the packed ring's interrupt decision, through each irqchip).
    /// </summary>
    [Theory]
    [InlineData(IrqchipMode.Userspace)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void EveryUsedDescriptorOfAPackedRingAssertsIntx(IrqchipMode irqchip)
    {
        string disk = Path.Combine(_directory, "disk0.img");
        File.WriteAllBytes(disk, new byte[256 * 1024]);
        var program = new VirtioBlockGuestProgram
        {
            PackedRing = true,
            QueueSize = 5,
            WaitForIntx = true,
            Steps = [VirtioBlockStep.Write(7, 2 * Sector, 0xABCD_0000), VirtioBlockStep.Read(7, 2 * Sector, count: 4, sectorStride: 0)],
        };
        uint intxSeen = 0;
        bool stillAsserted = true;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
        {
            intxSeen = BitConverter.ToUInt32(vm.Memory.GetSpan(new(VirtioGuestLayout.IntxSeen), 4));
            stillAsserted = vm.Virtio.Functions[0].Intx.IsAsserted;
        });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.Equal(5u, intxSeen);
        Assert.False(stillAsserted);
        byte[] filled = VirtioBlockChecksum.FillPattern(0xABCD_0000, 2 * Sector);
        uint sum = 0;
        for (int i = 0; i < 4; i++)
            sum = VirtioBlockChecksum.Compute(filled, sum);
        Assert.Equal(sum, result.Report.Steps[1].Checksum);
    }
}
