using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// The kernel's own bzImage 64-bit entry and decompressor. On kvm_pvm the decompressor runs in KVM's
/// instruction emulator and takes minutes, so this is the slow set: `./test.sh --quick` leaves it out,
/// `./test.sh` and CI run it (in parallel with the other test classes).
/// </summary>
[Trait("Requires", "kvm")]
[Trait("Speed", "slow")]
public sealed class LinuxBzImageDecompressorTests : IDisposable
{
    private readonly LinuxBootScenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Fact]
    public void TheKernelsOwnDecompressorBootsTheMachineEmberBuilt() =>
        _scenario.Boot(decompress: false, IrqchipMode.Split);
}
