using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Pci;
using Ember.Vmm.Acpi;

namespace Ember.Vmm.Devices;

/// <summary>
/// The machine's devices and what they occupy: the PIO and MMIO buses, the <see cref="MachineResources"/> that
/// hand out ports, memory windows, wired GSIs and PCI slots, and a registry of every device by id with its AML
/// term, so the DSDT is built from the devices that exist (<see cref="AmlDevices"/>, in registration order).
/// Registering a fixed register block both reserves it (where an allocator covers it) and puts it on its bus,
/// so a second claim of the same port or IRQ fails while the machine is built.
/// </summary>
public sealed class DeviceManager
{
    private readonly Dictionary<string, MachineDevice> _devices = new(StringComparer.Ordinal);
    private readonly List<MachineDevice> _inOrder = [];
    private PciTopology? _pci;

    /// <param name="memorySize">Guest RAM in bytes (the 64-bit PCI window starts above it).</param>
    public DeviceManager(ulong memorySize)
    {
        Resources = new MachineResources(memorySize);
    }

    public DeviceBus Pio { get; } = new();

    public DeviceBus Mmio { get; } = new();

    public MachineResources Resources { get; }

    /// <summary>PCI bus 0, once <see cref="AddPciRoot"/> has put the host bridge in place.</summary>
    public PciTopology Pci => _pci ?? throw new InvalidOperationException("the PCI root bridge has not been added yet");

    /// <summary>Every device, in registration order.</summary>
    public IReadOnlyList<MachineDevice> Devices => _inOrder;

    /// <summary>The DSDT's \_SB terms: those of the registered devices that have one, in registration order.</summary>
    public IReadOnlyList<IAmlDevice> AmlDevices => [.. _inOrder.Where(d => d.Aml is not null).Select(d => d.Aml!)];

    /// <summary>The device registered as <paramref name="id"/>; throws <see cref="KeyNotFoundException"/> for an unknown id.</summary>
    public MachineDevice this[string id] =>
        _devices.TryGetValue(id, out var device) ? device : throw new KeyNotFoundException($"no device '{id}'");

    /// <summary>Whether a device is registered as <paramref name="id"/>.</summary>
    public bool Contains(string id) => _devices.ContainsKey(id);

    /// <summary>Registers <paramref name="device"/> as <paramref name="id"/>; ids are unique.</summary>
    public MachineDevice Add(string id, object device, IAmlDevice? aml = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(device);
        var entry = new MachineDevice(id, device, aml);
        if (!_devices.TryAdd(id, entry))
            throw new InvalidOperationException($"a device '{id}' is already registered");
        _inOrder.Add(entry);
        return entry;
    }

    /// <summary>Puts a register block of device <paramref name="id"/> at a fixed port range.</summary>
    public void MapPio(string id, ulong port, ulong length, IBusDevice registers)
    {
        var entry = this[id];
        Map(Pio, Resources.Pio, port, length, registers);
        entry.AddPio(port, length);
    }

    /// <summary>Puts a register block of device <paramref name="id"/> at a fixed MMIO range.</summary>
    public void MapMmio(string id, ulong address, ulong length, IBusDevice registers)
    {
        var entry = this[id];
        Map(Mmio, Resources.Mmio32, address, length, registers);
        entry.AddMmio(address, length);
    }

    /// <summary>Gives wired GSI (ISA IRQ) <paramref name="gsi"/> to device <paramref name="id"/>; throws when another device has it.</summary>
    public void ClaimGsi(string id, int gsi)
    {
        var entry = this[id];
        Resources.Gsis.Reserve((ulong)gsi, 1);
        entry.AddGsi(gsi);
    }

    /// <summary>
    /// Adds PCI bus 0: the host bridge with its configuration ports and ECAM (the DSDT's PCI0 and MRES).
    /// <paramref name="gsiLine"/> is the interrupt controller's line for a GSI, for the INTx wires.
    /// </summary>
    public PciTopology AddPciRoot(Func<int, IInterruptLine>? gsiLine)
    {
        if (_pci is not null)
            throw new InvalidOperationException("the PCI root bridge is already in place");
        var pci = new PciTopology(Pio, Mmio, Resources, gsiLine);
        var root = Add("pci0", pci.Root, new PciRootBridgeAml(pci.InterruptRoutes));
        root.AddPio(Layout.PciConfigAddressPort, PciConfigMechanism1.Length);
        root.PciAddress = new PciAddress(0, 0, 0);
        foreach (byte gsi in Layout.PciIntxGsis)
            root.AddGsi(gsi);
        Add("pci-ecam", pci.Ecam, new EcamReservationAml()).AddMmio(Layout.PciEcamBase, pci.Ecam.Length);
        _pci = pci;
        return pci;
    }

    /// <summary>Puts <paramref name="function"/> in the next free slot of bus 0 as device <paramref name="id"/>; returns its address.</summary>
    public PciAddress AddPciFunction(string id, IPciDevice function)
    {
        if (_devices.ContainsKey(id))
            throw new InvalidOperationException($"a device '{id}' is already registered");
        var address = Pci.Add(function);
        Add(id, function).PciAddress = address;
        return address;
    }

    private static void Map(DeviceBus bus, AddressAllocator space, ulong start, ulong length, IBusDevice registers)
    {
        bool reserve = space.Intersects(start, length);
        if (reserve)
            space.Reserve(start, length);
        try
        {
            bus.Register(start, length, registers);
        }
        catch
        {
            if (reserve)
                space.Free(start);
            throw;
        }
    }
}
