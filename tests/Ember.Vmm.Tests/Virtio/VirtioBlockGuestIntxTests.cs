using Ember.Devices.Virtio.Transport;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Devices;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-blk with MSI-X left off, through real KVM: the assembled driver asks for used-buffer interrupts and,
/// after every doorbell, waits for the function's INTx in the 8259A's IRR (OCW3 reads; the IRQ is level-triggered in
/// the ELCR and masked, so no interrupt is taken: kvm_pvm cannot return from one in 32-bit protected mode), reads ISR
/// (bit 0 set) and checks that the IRR bit dropped. That proves, in each irqchip mode, that a used buffer asserts the
/// line on the GSI the _PRT names, that it stays up as a level, and that the ISR read deasserts it. In user-space mode
/// the 8259A is Ember's own; in split mode too (beside the IOAPIC pin); in kernel mode it is KVM's.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioBlockGuestIntxTests : IDisposable
{
    private const uint Sector = VirtioBlockStep.SectorSize;
    private readonly string _directory = Directory.CreateTempSubdirectory("ember-virtio-intx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(IrqchipMode.Userspace)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void EveryCompletionAssertsIntxUntilTheDriverReadsIsr(IrqchipMode irqchip)
    {
        string disk = Path.Combine(_directory, "disk0.img");
        var image = new byte[256 * 1024];
        new Random(5).NextBytes(image);
        File.WriteAllBytes(disk, image);
        var program = new VirtioBlockGuestProgram
        {
            WaitForIntx = true,
            Steps =
            [
                VirtioBlockStep.GetId(),
                VirtioBlockStep.Read(3, 4096, count: 3),
                VirtioBlockStep.Write(100, 2 * Sector, 0xC0DE_0001),
                VirtioBlockStep.Flush(),
                VirtioBlockStep.Read(100, 2 * Sector),
            ],
        };
        uint intxSeen = 0;
        bool stillAsserted = true, msixEnabled = true;
        byte interruptLine = 0;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", disk)], irqchip, inspect: vm =>
        {
            intxSeen = BitConverter.ToUInt32(vm.Memory.GetSpan(new(VirtioGuestLayout.IntxSeen), 4));
            var function = vm.Virtio.Functions[0];
            stillAsserted = function.Intx.IsAsserted;
            msixEnabled = function.Msix.IsEnabled;
            interruptLine = function.Configuration.InterruptLine;
        });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.False(msixEnabled);
        Assert.Equal(PciTopology.IntxGsiForSlot(1), interruptLine);
        // One interrupt per request, each seen asserted and then dropped by the ISR read.
        Assert.Equal((uint)program.Steps.Sum(s => s.Count), intxSeen);
        Assert.False(stillAsserted);
        Assert.Equal(VirtioBlockChecksum.Compute(VirtioBlockChecksum.FillPattern(0xC0DE_0001, 2 * Sector)), result.Report.Steps[4].Checksum);
    }

    /// <summary>Slot 2's INTA# is GSI 10, on the slave 8259A (ELCR 0x4D1, OCW3 at 0xA0), while slot 1's disk stays quiet.</summary>
    [Theory]
    [InlineData(IrqchipMode.Userspace)]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    public void TheSecondSlotInterruptsOnGsi10ThroughTheSlave8259(IrqchipMode irqchip)
    {
        string first = Path.Combine(_directory, "disk0.img"), second = Path.Combine(_directory, "disk1.img");
        File.WriteAllBytes(first, new byte[64 * 1024]);
        File.WriteAllBytes(second, new byte[64 * 1024]);
        var program = new VirtioBlockGuestProgram
        {
            WaitForIntx = true,
            DeviceIndex = 1,
            Steps = [VirtioBlockStep.Write(1, Sector, 0x5EED), VirtioBlockStep.Read(1, Sector, count: 2)],
        };
        uint intxSeen = 0;
        byte interruptLine = 0;
        bool firstAsserted = true;
        var result = VirtioBlockGuestRun.Run(program, [new DriveConfig("disk0", first), new DriveConfig("disk1", second)], irqchip, inspect: vm =>
        {
            intxSeen = BitConverter.ToUInt32(vm.Memory.GetSpan(new(VirtioGuestLayout.IntxSeen), 4));
            interruptLine = vm.Virtio.Functions[1].Configuration.InterruptLine;
            firstAsserted = vm.Virtio.Functions[0].Intx.IsAsserted;
        });
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);

        result.AssertSucceeded();
        Assert.Equal(2, result.Report.Slot);
        Assert.Equal(10, interruptLine);
        Assert.Equal(3u, intxSeen);
        Assert.False(firstAsserted);
    }
}
