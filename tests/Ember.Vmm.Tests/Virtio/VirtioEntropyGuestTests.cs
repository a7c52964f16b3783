using Ember.Devices.Virtio.Entropy;
using Ember.TestGuests.Virtio;
using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Virtio;

/// <summary>
/// Ember's virtio-rng device driven through real KVM by an assembled guest driver (<see cref="VirtioEntropyGuest"/>):
/// the shared PCI bring-up, one queue, device-writable buffers filled from the host's random number generator. The
/// guest zeroes its buffer first, so bytes the device did not write stay zero. It runs in every irqchip mode: it polls,
/// and in user-space mode (no LAPIC) the function interrupts through INTx, which <see cref="VirtioBlockGuestIntxTests"/> proves.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class VirtioEntropyGuestTests
{
    private static VirtioGuestBootResult Run(VirtioEntropyGuestProgram program, IrqchipMode irqchip, out byte[] gathered, bool withDevice = true)
    {
        byte[] memory = [];
        var result = VirtioGuestBoot.Run(VirtioEntropyGuest.Build(program), irqchip, config => config with { EntropyDevice = withDevice },
            inspect: vm => memory = vm.Memory.GetSpan(new(VirtioEntropyGuestLayout.Buffer), (int)program.ByteCount + 4096).ToArray(),
            memorySize: VirtioEntropyGuestLayout.MinimumMemory + (16UL << 20));
        TestContext.Current.TestOutputHelper?.WriteLine(result.Console);
        gathered = memory;
        return result;
    }

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void TheGuestGetsTheBytesItAskedForAndTheyAreNotAllAlike(IrqchipMode irqchip)
    {
        const uint count = 10_000;
        var result = Run(new VirtioEntropyGuestProgram { ByteCount = count, RequestLength = 4096 }, irqchip, out byte[] memory);

        result.AssertSucceeded();
        var report = VirtioEntropyGuestReport.Parse(result.Console);
        Assert.NotNull(report.Found);
        Assert.Equal(1, report.Found.Slot);
        Assert.Equal(count, report.Bytes);
        Assert.Equal(3u, report.Requests);                       // 4096 + 4096 + 1808
        var bytes = memory.AsSpan(0, (int)count);
        Assert.True(bytes.ToArray().Distinct().Count() > 1, "the guest's bytes are all the same value");
        // The zeroed buffer shows where the device wrote: none of 16 bytes in a row left at zero (odds 2^-128 for
        // random bytes), and nothing after the end the guest asked for.
        for (int i = 0; i + 16 <= bytes.Length; i += 16)
            Assert.True(bytes.Slice(i, 16).ContainsAnyExcept((byte)0), $"bytes {i} to {i + 15} were never written");
        Assert.False(memory.AsSpan((int)count).ContainsAnyExcept((byte)0), "the device wrote past the buffer the guest offered");
        Assert.Equal(bytes[..VirtioEntropyGuestLayout.BytesShown].ToArray(), report.FirstBytes);
    }

    [Fact]
    public void ABufferLargerThanOneRequestGetsIsFilledInPartsAndTheGuestAsksForTheRest()
    {
        const uint count = 200_000;
        var result = Run(new VirtioEntropyGuestProgram { ByteCount = count, RequestLength = 1 << 20 }, IrqchipMode.Split, out byte[] memory);

        result.AssertSucceeded();
        var report = VirtioEntropyGuestReport.Parse(result.Console);
        Assert.Equal(count, report.Bytes);
        // Each request gets at most the device's cap: 3 × 64 KiB, then the 3392 bytes left.
        Assert.Equal((uint)Math.Ceiling(count / (double)VirtioEntropy.MaxBytesPerRequest), report.Requests);
        Assert.True(memory.AsSpan(0, (int)count).ToArray().Distinct().Count() > 1);
    }

    [Fact]
    public void WithoutAnEntropyDeviceTheGuestSaysItFoundNone()
    {
        var result = Run(new VirtioEntropyGuestProgram { ByteCount = 64 }, IrqchipMode.Split, out _, withDevice: false);

        Assert.Equal(VirtioGuestOutcome.NoDevice, result.Outcome);
        Assert.Equal(VirtioGuestOutcome.NoDevice, VirtioEntropyGuestReport.Parse(result.Console).Failure);
    }

    [Fact]
    public void AProgramTheGuestCannotRunIsRefusedBeforeItIsAssembled()
    {
        Assert.Contains("1 to", new VirtioEntropyGuestProgram { ByteCount = 0 }.Problem());
        Assert.Contains("power of two", new VirtioEntropyGuestProgram { ByteCount = 1, QueueSize = 3 }.Problem());
        Assert.Throws<ArgumentException>(() => VirtioEntropyGuest.Build(new VirtioEntropyGuestProgram { ByteCount = VirtioEntropyGuestLayout.BufferSize + 1 }));
    }
}
