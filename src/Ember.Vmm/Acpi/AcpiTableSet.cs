using Ember.Memory;

namespace Ember.Vmm.Acpi;

/// <summary>The placed ACPI tables for one machine; <see cref="WriteTo"/> copies them into guest RAM.</summary>
public sealed class AcpiTableSet
{
    internal AcpiTableSet(GuestAddress rsdpAddress, IReadOnlyList<AcpiTable> tables)
    {
        RsdpAddress = rsdpAddress;
        Tables = tables;
    }

    /// <summary>Where the RSDP is; PVH start info and the Linux zero page pass it on.</summary>
    public GuestAddress RsdpAddress { get; }

    /// <summary>All structures, in address order, RSDP first.</summary>
    public IReadOnlyList<AcpiTable> Tables { get; }

    /// <summary>The structure with the given signature.</summary>
    public AcpiTable this[string signature] =>
        Tables.FirstOrDefault(t => t.Signature == signature) ?? throw new KeyNotFoundException($"no ACPI table \"{signature}\"");

    /// <summary>Writes every structure; returns the RSDP address.</summary>
    /// <exception cref="GuestMemoryException">Guest RAM does not cover the ACPI region.</exception>
    public GuestAddress WriteTo(IGuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        foreach (var table in Tables)
        {
            memory.Write(table.Address, table.Bytes);
        }
        return RsdpAddress;
    }
}
