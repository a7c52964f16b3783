namespace Ember.Vmm.Boot;

/// <summary>One ELF note: owner name (without trailing NULs), type, and descriptor bytes.</summary>
public readonly record struct ElfNote(string Name, uint Type, ReadOnlyMemory<byte> Descriptor);
