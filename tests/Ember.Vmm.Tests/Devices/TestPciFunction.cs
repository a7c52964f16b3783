using Ember.Devices.Bus;
using Ember.Devices.Pci;

namespace Ember.Vmm.Tests.Devices;

/// <summary>A PCI function that is only its configuration space (no BARs), for placement and INTx tests.</summary>
internal sealed class TestPciFunction(PciConfigSpace configuration) : IPciDevice
{
    public PciConfigSpace Configuration { get; } = configuration;

    public IBusDevice? BarRegion(int index) => null;

    /// <summary>A function with virtio-blk's ids and the given interrupt pin.</summary>
    public static TestPciFunction WithPin(PciInterruptPin pin) =>
        new(new PciConfigSpace(new PciFunctionIdentity(0x1AF4, 0x1044, new PciClassCode(0xFF, 0, 0)) { InterruptPin = pin }));
}
