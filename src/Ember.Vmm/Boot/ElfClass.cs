namespace Ember.Vmm.Boot;

/// <summary>EI_CLASS (System V ABI, ELF header e_ident[4]).</summary>
public enum ElfClass : byte
{
    Elf32 = 1,
    Elf64 = 2,
}
