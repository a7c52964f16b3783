using Ember.Devices.Bus;
using Ember.Devices.Pci;

namespace Ember.Vmm.Devices;

/// <summary>
/// The machine's PCI: root bus 0 behind a host bridge, reachable through configuration mechanism #1 at
/// 0xCF8 and through ECAM at <see cref="Layout.PciEcamBase"/>, with BAR regions kept on the PIO and MMIO
/// buses wherever the guest moves them. It owns the slots and the 32-bit BAR window: a device added here
/// gets the next free slot and its memory BARs placed (naturally aligned) in the window, with memory
/// decoding on, as firmware would leave them, so a guest that does not reassign BARs finds them working.
/// The ACPI tables describe the same thing (<see cref="Acpi.Dsdt"/>'s PCI0 and MRES, <see cref="Acpi.Mcfg"/>).
/// </summary>
public sealed class PciTopology
{
    private readonly AddressAllocator _mmio32 = new("PCI 32-bit BAR window", Layout.PciMmio32Start, Layout.PciMmio32Size);
    private int _nextSlot = 1;

    public PciTopology(DeviceBus pio, DeviceBus mmio)
    {
        ArgumentNullException.ThrowIfNull(pio);
        ArgumentNullException.ThrowIfNull(mmio);
        Root = new PciRootBus();
        Mapper = new PciBarMapper(Root, pio, mmio);
        ConfigPorts = new PciConfigMechanism1(Root);
        pio.Register(Layout.PciConfigAddressPort, PciConfigMechanism1.Length, ConfigPorts);
        Ecam = new PciEcam(Root, Layout.PciBusCount);
        mmio.Register(Layout.PciEcamBase, Ecam.Length, Ecam);
    }

    public PciRootBus Root { get; }

    public PciBarMapper Mapper { get; }

    public PciConfigMechanism1 ConfigPorts { get; }

    public PciEcam Ecam { get; }

    /// <summary>
    /// Puts <paramref name="device"/> in the next free slot, places its memory BARs and turns on memory
    /// decoding. Returns its address. Throws <see cref="ResourceExhaustedException"/> when the slots or
    /// the BAR window run out; I/O BARs are not placed (Ember's devices have none).
    /// </summary>
    public PciAddress Add(IPciDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_nextSlot >= PciAddress.DevicesPerBus)
            throw new ResourceExhaustedException($"PCI bus 0 is full ({PciAddress.DevicesPerBus - 1} devices)");
        var config = device.Configuration;
        var placed = new List<ulong>();
        try
        {
            for (int index = 0; index < PciConfigRegisters.BarCount; index++)
            {
                if (config.Bar(index) is not { IsMemory: true } bar)
                    continue;
                ulong address = _mmio32.Allocate(bar.Size, bar.Size);
                placed.Add(address);
                config.SetBarAddress(index, address);
            }
        }
        catch
        {
            foreach (ulong address in placed)
                _mmio32.Free(address);
            throw;
        }
        int slot = _nextSlot++;
        Root.Attach(slot, device);
        // Memory decoding on: PciConfigSpace raises BarMoved, the mapper puts the regions on the bus.
        config.Write(PciConfigRegisters.Command, BitConverter.GetBytes((ushort)(config.Command | PciCommand.MemorySpace)));
        return new PciAddress(0, slot, 0);
    }
}
