namespace Ember.Vmm.Boot;

/// <summary>A GDTR/IDTR value: linear base address and limit (size in bytes minus one).</summary>
public readonly record struct DescriptorTableRegister(ulong Base, ushort Limit);
