using System.Buffers.Binary;
using System.Text;

namespace Ember.Vmm.Images;

/// <summary>
/// Finding a Debian cloud kernel in /boot and reading a bzImage's release string, so the matching
/// /usr/lib/modules/&lt;release&gt; can be found without trusting the file name alone.
/// </summary>
public static class KernelImage
{
    /// <summary>What Debian's linux-image-*-cloud-amd64 packages install in /boot.</summary>
    public const string CloudKernelPattern = "vmlinuz-*-cloud-amd64";

    private const string FileNamePrefix = "vmlinuz-";

    // Linux Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header".
    private const int HeaderMagicOffset = 0x202;       // "HdrS"
    private const uint HeaderMagic = 0x5372_6448;      // "HdrS" read little-endian
    private const int ProtocolVersionOffset = 0x206;
    private const ushort MinimumProtocolVersion = 0x0200; // kernel_version exists from protocol 2.00
    private const int KernelVersionOffset = 0x20E;     // u16 pointer to the version string, less 0x200
    private const int KernelVersionBase = 0x200;

    /// <summary>The longest release string accepted; Linux's utsname release field is 65 bytes with the NUL.</summary>
    private const int MaxReleaseLength = 64;

    /// <summary>kernel_version is a 16-bit offset plus 0x200, so this prefix of the file always holds the string.</summary>
    private const int HeaderReadLength = ushort.MaxValue + KernelVersionBase + MaxReleaseLength + 1;

    /// <summary>
    /// The newest <see cref="CloudKernelPattern"/> in <paramref name="bootDirectory"/> by release
    /// (so -56 beats -9), or null if there is none.
    /// </summary>
    public static string? FindNewestCloudKernel(string bootDirectory)
    {
        ArgumentNullException.ThrowIfNull(bootDirectory);
        if (!Directory.Exists(bootDirectory))
            return null;
        return Directory.EnumerateFiles(bootDirectory, CloudKernelPattern, SearchOption.TopDirectoryOnly)
            .Select(path => (Path: path, Release: Path.GetFileName(path)[FileNamePrefix.Length..]))
            .OrderByDescending(k => k.Release, KernelReleaseComparer.Instance)
            .Select(k => k.Path)
            .FirstOrDefault();
    }

    /// <summary>
    /// The kernel release (`uname -r`) of a kernel image: from the bzImage header if it has one,
    /// else from a "vmlinuz-&lt;release&gt;" file name; null if neither says.
    /// </summary>
    public static string? ReadRelease(string kernelPath)
    {
        ArgumentNullException.ThrowIfNull(kernelPath);
        var buffer = new byte[HeaderReadLength];
        int length;
        using (var file = new FileStream(kernelPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
            length = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var fromHeader = ReadReleaseFromHeader(buffer.AsSpan(0, length));
        if (fromHeader is not null)
            return fromHeader;
        var fileName = Path.GetFileName(kernelPath);
        return fileName.StartsWith(FileNamePrefix, StringComparison.Ordinal) && fileName.Length > FileNamePrefix.Length
            ? fileName[FileNamePrefix.Length..]
            : null;
    }

    /// <summary>
    /// The release from a bzImage's setup header: the first word of the string kernel_version
    /// points at ("6.1.0-56-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP ..."). Null if the
    /// image has no "HdrS" header, a protocol before 2.00, no version pointer, or an implausible string.
    /// </summary>
    public static string? ReadReleaseFromHeader(ReadOnlySpan<byte> image)
    {
        if (image.Length < KernelVersionOffset + sizeof(ushort))
            return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(image[HeaderMagicOffset..]) != HeaderMagic)
            return null;
        if (BinaryPrimitives.ReadUInt16LittleEndian(image[ProtocolVersionOffset..]) < MinimumProtocolVersion)
            return null;
        var pointer = BinaryPrimitives.ReadUInt16LittleEndian(image[KernelVersionOffset..]);
        if (pointer == 0)
            return null;
        var start = pointer + KernelVersionBase;
        if (start >= image.Length)
            return null;
        var text = image[start..];
        var end = text.IndexOfAny((byte)0, (byte)' ');
        if (end <= 0 || end > MaxReleaseLength)
            return null;
        var release = text[..end];
        foreach (var b in release)
        {
            // Releases are made of letters, digits and ".-+_~"; anything else means we read garbage.
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'.' or (byte)'-' or (byte)'+' or (byte)'_' or (byte)'~'))
                return null;
        }
        return Encoding.ASCII.GetString(release);
    }
}
