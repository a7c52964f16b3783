namespace Ember.Devices.Pci;

/// <summary>The Interrupt Pin register: which INTx line the function uses, if any (PCI Local Bus 3.0 §6.2.4).</summary>
public enum PciInterruptPin : byte
{
    None = 0,
    IntA = 1,
    IntB = 2,
    IntC = 3,
    IntD = 4,
}
