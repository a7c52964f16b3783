using Ember.Memory;

namespace Ember.Vmm.Acpi;

/// <summary>One encoded ACPI structure and the guest address it belongs at.</summary>
/// <param name="Signature">"RSD PTR ", "XSDT", "FACP", … as in the structure itself.</param>
public sealed record AcpiTable(string Signature, GuestAddress Address, byte[] Bytes);
