using Ember.Devices.Bus;

namespace Ember.Devices.Pci;

/// <summary>
/// A PCI function as the root bus sees it: its configuration space, the regions behind its BARs, and a
/// hook for when a BAR's decoded address changes. The device knows only registers; the bus maps its BAR
/// regions on the PIO or MMIO bus wherever the guest puts them.
/// </summary>
public interface IPciDevice
{
    PciConfigSpace Configuration { get; }

    /// <summary>
    /// What BAR <paramref name="index"/> decodes, with offsets relative to the BAR's base; null where no
    /// BAR is implemented (and for the upper half of a 64-bit BAR).
    /// </summary>
    IBusDevice? BarRegion(int index);

    /// <summary>
    /// BAR <see cref="PciBarMove.Index"/> moved, after the bus has remapped its region: a device with
    /// address-bound resources (ioeventfds on virtio notify addresses) re-registers them here.
    /// Called on the thread of the access that moved it; must not throw.
    /// </summary>
    void BarMoved(PciBarMove move)
    {
    }
}
