using Ember.Memory;

namespace Ember.Vmm.Acpi;

/// <summary>
/// Builds and places the ACPI tables in the BIOS area <see cref="Layout.AcpiStart"/>-
/// <see cref="Layout.AcpiEnd"/>: RSDP at 0xE0000 (16-aligned, where OSes without a pointer scan
/// for it, ACPI 6.x §5.2.5.1), then FACS (64-aligned), DSDT, FADT, MADT, MCFG, RSDT and XSDT, each
/// 16-aligned. The RSDT/XSDT list the FADT, MADT and MCFG; the FADT points to the FACS and DSDT.
/// </summary>
public static class AcpiTableBuilder
{
    private const ulong TableAlignment = 16;

    public static AcpiTableSet Build(AcpiPlatform platform)
    {
        ArgumentNullException.ThrowIfNull(platform);

        ulong cursor = Layout.Rsdp + Rsdp.Length;
        ulong Place(int length, ulong alignment)
        {
            ulong address = (cursor + alignment - 1) & ~(alignment - 1);
            cursor = address + (ulong)length;
            if (cursor > Layout.AcpiEnd)
            {
                throw new InvalidOperationException($"ACPI tables overflow the region ending at 0x{Layout.AcpiEnd:x}");
            }
            return address;
        }

        byte[] facs = Facs.Encode();
        ulong facsAddress = Place(facs.Length, Facs.Alignment);
        byte[] dsdt = Dsdt.EncodeFor(platform.Devices ?? Dsdt.PcDevices(platform.PciInterruptRoutes));
        ulong dsdtAddress = Place(dsdt.Length, TableAlignment);
        byte[] fadt = Fadt.Encode(facsAddress, dsdtAddress);
        ulong fadtAddress = Place(fadt.Length, TableAlignment);
        byte[]? madt = platform.HasApic ? Madt.Encode(platform.VcpuCount) : null;
        ulong madtAddress = madt is null ? 0 : Place(madt.Length, TableAlignment);
        byte[] mcfg = Mcfg.Encode();
        ulong mcfgAddress = Place(mcfg.Length, TableAlignment);
        ulong[] pointers = madt is null ? [fadtAddress, mcfgAddress] : [fadtAddress, madtAddress, mcfgAddress];
        byte[] rsdt = Rsdt.Encode([.. pointers.Select(p => (uint)p)]);
        ulong rsdtAddress = Place(rsdt.Length, TableAlignment);
        byte[] xsdt = Xsdt.Encode(pointers);
        ulong xsdtAddress = Place(xsdt.Length, TableAlignment);
        byte[] rsdp = Rsdp.Encode((uint)rsdtAddress, xsdtAddress);

        var rsdpAddress = new GuestAddress(Layout.Rsdp);
        var tables = new List<AcpiTable>
        {
            new(Rsdp.Signature, rsdpAddress, rsdp),
            new(Facs.Signature, new GuestAddress(facsAddress), facs),
            new(Dsdt.Signature, new GuestAddress(dsdtAddress), dsdt),
            new(Fadt.Signature, new GuestAddress(fadtAddress), fadt),
        };
        if (madt is not null)
            tables.Add(new AcpiTable(Madt.Signature, new GuestAddress(madtAddress), madt));
        tables.Add(new AcpiTable(Mcfg.Signature, new GuestAddress(mcfgAddress), mcfg));
        tables.Add(new AcpiTable(Rsdt.Signature, new GuestAddress(rsdtAddress), rsdt));
        tables.Add(new AcpiTable(Xsdt.Signature, new GuestAddress(xsdtAddress), xsdt));
        return new AcpiTableSet(rsdpAddress, tables);
    }
}
