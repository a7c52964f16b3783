namespace Ember.Vmm.Acpi;

/// <summary>
/// ACPI checksums: the byte chosen so that all bytes of the covered range sum to zero modulo
/// 256 (ACPI 6.x §5.2.5.3 for the RSDP, §5.2.6 for every description table).
/// </summary>
public static class AcpiChecksum
{
    /// <summary>Sum of the bytes modulo 256.</summary>
    public static byte Sum(ReadOnlySpan<byte> data)
    {
        byte sum = 0;
        foreach (byte b in data)
        {
            sum = unchecked((byte)(sum + b));
        }
        return sum;
    }

    /// <summary>Sets <paramref name="data"/>[<paramref name="checksumOffset"/>] so the whole span sums to zero.</summary>
    public static void Apply(Span<byte> data, int checksumOffset)
    {
        data[checksumOffset] = 0;
        data[checksumOffset] = unchecked((byte)(0 - Sum(data)));
    }
}
