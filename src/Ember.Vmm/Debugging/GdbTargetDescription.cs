using System.Text;

namespace Ember.Vmm.Debugging;

/// <summary>
/// The target description GDB reads with <c>qXfer:features:read:target.xml</c> (GDB manual, "Target Descriptions"
/// and "i386 Features"): the architecture and one feature per register group, written from
/// <see cref="X86RegisterLayout"/> so the g packet and the description always agree. Types that are not GDB's
/// predefined ones (the eflags, mxcsr, CR0, CR4 and EFER bit fields, the 128-bit vector union) are declared in the
/// feature that uses them.
/// </summary>
internal static class GdbTargetDescription
{
    public static string For(GdbArchitecture architecture) => architecture == GdbArchitecture.Amd64 ? Amd64 : I386;

    private static string Build(X86RegisterLayout layout, string architecture)
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        xml.Append("  <architecture>").Append(architecture).Append("</architecture>\n");
        foreach (var feature in layout.Registers.Select(r => r.Feature).Distinct())
        {
            xml.Append("  <feature name=\"").Append(feature).Append("\">\n");
            if (feature == X86RegisterLayout.CoreFeature)
                xml.Append(EflagsType);
            if (feature == X86RegisterLayout.SseFeature)
                xml.Append(VectorTypes).Append(MxcsrType);
            foreach (var register in layout.Registers.Where(r => r.Feature == feature && ControlBits.ContainsKey(r.Name)))
                xml.Append(Flags(register.Type, register.Bytes, ControlBits[register.Name]));
            foreach (var register in layout.Registers.Where(r => r.Feature == feature))
            {
                xml.Append("    <reg name=\"").Append(register.Name).Append("\" bitsize=\"").Append(register.Bits)
                   .Append("\" type=\"").Append(register.Type).Append('"');
                if (register.Group is { } group)
                    xml.Append(" group=\"").Append(group).Append('"');
                xml.Append("/>\n");
            }
            xml.Append("  </feature>\n");
        }
        xml.Append("</target>\n");
        return xml.ToString();
    }

    /// <summary>EFLAGS bits (Intel SDM vol. 1, §3.4.3).</summary>
    private static readonly string EflagsType = Flags("i386_eflags", 4,
        ("CF", 0), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9), ("DF", 10), ("OF", 11),
        ("NT", 14), ("RF", 16), ("VM", 17), ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21));

    /// <summary>MXCSR bits (Intel SDM vol. 1, §10.2.3).</summary>
    private static readonly string MxcsrType = Flags("i386_mxcsr", 4,
        ("IE", 0), ("DE", 1), ("ZE", 2), ("OE", 3), ("UE", 4), ("PE", 5), ("DAZ", 6), ("IM", 7), ("DM", 8),
        ("ZM", 9), ("OM", 10), ("UM", 11), ("PM", 12), ("FZ", 15));

    /// <summary>
    /// The flag bits of the control registers and EFER GDB shows by name (Intel SDM vol. 3, §2.5 and §2.2.1; AMD APM
    /// vol. 2, §3.1.7 for EFER's AMD-only bits).
    /// </summary>
    private static readonly Dictionary<string, (string Name, int Bit)[]> ControlBits = new()
    {
        ["cr0"] = [("PE", 0), ("MP", 1), ("EM", 2), ("TS", 3), ("ET", 4), ("NE", 5), ("WP", 16), ("AM", 18), ("NW", 29), ("CD", 30), ("PG", 31)],
        ["cr4"] =
        [
            ("VME", 0), ("PVI", 1), ("TSD", 2), ("DE", 3), ("PSE", 4), ("PAE", 5), ("MCE", 6), ("PGE", 7), ("PCE", 8),
            ("OSFXSR", 9), ("OSXMMEXCPT", 10), ("UMIP", 11), ("LA57", 12), ("VMXE", 13), ("SMXE", 14), ("FSGSBASE", 16),
            ("PCIDE", 17), ("OSXSAVE", 18), ("SMEP", 20), ("SMAP", 21), ("PKE", 22),
        ],
        ["efer"] = [("SCE", 0), ("LME", 8), ("LMA", 10), ("NXE", 11), ("SVME", 12), ("LMSLE", 13), ("FFXSR", 14), ("TCE", 15)],
    };

    private const string VectorTypes =
        "    <vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n" +
        "    <vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n" +
        "    <vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n" +
        "    <vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n" +
        "    <vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n" +
        "    <vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n" +
        "    <union id=\"vec128\">\n" +
        "      <field name=\"v4_float\" type=\"v4f\"/>\n" +
        "      <field name=\"v2_double\" type=\"v2d\"/>\n" +
        "      <field name=\"v16_int8\" type=\"v16i8\"/>\n" +
        "      <field name=\"v8_int16\" type=\"v8i16\"/>\n" +
        "      <field name=\"v4_int32\" type=\"v4i32\"/>\n" +
        "      <field name=\"v2_int64\" type=\"v2i64\"/>\n" +
        "      <field name=\"uint128\" type=\"uint128\"/>\n" +
        "    </union>\n";

    /// <summary>A flags type <paramref name="size"/> bytes wide (the register's width), one single-bit field per entry.</summary>
    private static string Flags(string id, int size, params (string Name, int Bit)[] bits)
    {
        var xml = new StringBuilder();
        xml.Append("    <flags id=\"").Append(id).Append("\" size=\"").Append(size).Append("\">\n");
        foreach (var (name, bit) in bits)
            xml.Append("      <field name=\"").Append(name).Append("\" start=\"").Append(bit).Append("\" end=\"").Append(bit).Append("\"/>\n");
        xml.Append("    </flags>\n");
        return xml.ToString();
    }

    // Declared after the type strings they use: static fields initialise in textual order.
    public static readonly string Amd64 = Build(X86RegisterLayout.Amd64, "i386:x86-64");

    public static readonly string I386 = Build(X86RegisterLayout.I386, "i386");
}
