namespace Ember.Vmm.Devices;

/// <summary>One row of the PCI interrupt routing: the INTA# pin of <paramref name="Slot"/> on bus 0 reaches <paramref name="Gsi"/>.</summary>
public readonly record struct PciInterruptRoute(int Slot, int Gsi);
