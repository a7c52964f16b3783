using Ember.Vmm.Machine;

namespace Ember.Vmm.Tests.Linux;

/// <summary>
/// One Linux boot per irqchip mode through the PVH entry (Ember decompresses the bzImage): the machine
/// Ember built as the kernel reports it, and on hardware KVM the guest's /init, a command and power-off.
/// </summary>
[Trait("Requires", "kvm")]
public sealed class LinuxBootTests
{
    [Theory]
    [InlineData(IrqchipMode.Split)]
    [InlineData(IrqchipMode.Kernel)]
    [InlineData(IrqchipMode.Userspace)]
    public void DebianCloudKernelReportsTheMachineEmberBuilt(IrqchipMode irqchip) =>
        LinuxBootScenario.Boot(decompress: true, irqchip);
}
