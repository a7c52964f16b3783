namespace Ember.Vmm.Images;

/// <summary>
/// Orders kernel release strings the way people read them: runs of digits compare as numbers, so
/// "6.1.0-56-cloud-amd64" is newer than "6.1.0-9-cloud-amd64" and "6.10.0-1" than "6.9.0-5".
/// Other characters compare ordinally; ties fall back to ordinal order so the result is total.
/// </summary>
public sealed class KernelReleaseComparer : IComparer<string>
{
    public static readonly KernelReleaseComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
            return 0;
        if (x is null)
            return -1;
        if (y is null)
            return 1;
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                var startX = i;
                var startY = j;
                while (i < x.Length && char.IsAsciiDigit(x[i]))
                    i++;
                while (j < y.Length && char.IsAsciiDigit(y[j]))
                    j++;
                var numberX = x.AsSpan(startX, i - startX).TrimStart('0');
                var numberY = y.AsSpan(startY, j - startY).TrimStart('0');
                // Without leading zeros, a longer run of digits is a larger number; equal lengths compare digit by digit.
                var byValue = numberX.Length != numberY.Length
                    ? numberX.Length.CompareTo(numberY.Length)
                    : numberX.SequenceCompareTo(numberY);
                if (byValue != 0)
                    return byValue;
            }
            else
            {
                if (x[i] != y[j])
                    return x[i].CompareTo(y[j]);
                i++;
                j++;
            }
        }
        var byLength = (x.Length - i).CompareTo(y.Length - j);
        return byLength != 0 ? byLength : string.CompareOrdinal(x, y);
    }
}
