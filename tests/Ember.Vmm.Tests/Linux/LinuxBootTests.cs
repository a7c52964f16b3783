using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// One Linux boot per irqchip mode through the PVH entry (Ember decompresses the bzImage): the machine
/// Ember built as the kernel reports it, and on hardware KVM Linux's virtio drivers on our disks and
/// entropy device, the guest's /init, a command and power-off (see <see cref="LinuxBootScenario"/>).
/// </summary>
[Trait("Requires", "kvm")]
public sealed class LinuxBootTests : IDisposable
{
    private readonly LinuxBootScenario _scenario = new();

    public void Dispose() => _scenario.Dispose();

    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void DebianCloudKernelReportsTheMachineEmberBuilt(IrqchipMode irqchip) =>
        _scenario.Boot(decompress: true, irqchip);
}
