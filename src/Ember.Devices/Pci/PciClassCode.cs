namespace Ember.Devices.Pci;

/// <summary>
/// The Class Code register: base class, subclass and programming interface (PCI Local Bus 3.0 §6.2.1
/// and appendix D).
/// </summary>
public readonly record struct PciClassCode(byte BaseClass, byte SubClass, byte ProgrammingInterface)
{
    /// <summary>Bridge device, host bridge (06/00/00).</summary>
    public static PciClassCode HostBridge => new(0x06, 0x00, 0x00);
}
