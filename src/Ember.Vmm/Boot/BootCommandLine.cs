using System.Text;

namespace Ember.Vmm.Boot;

/// <summary>Encodes a kernel command line as the NUL-terminated byte string every protocol passes.</summary>
public static class BootCommandLine
{
    /// <summary>
    /// UTF-8 bytes of <paramref name="commandLine"/> plus a terminating NUL.
    /// </summary>
    /// <param name="maxLength">Longest accepted line, not counting the NUL.</param>
    /// <exception cref="BootImageException">The line is longer than <paramref name="maxLength"/> or contains a NUL.</exception>
    public static byte[] Encode(string commandLine, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        if (commandLine.Contains('\0'))
        {
            throw new BootImageException("kernel command line contains a NUL character");
        }
        int length = Encoding.UTF8.GetByteCount(commandLine);
        if (length > maxLength)
        {
            throw new BootImageException($"kernel command line is {length} bytes; the limit is {maxLength}");
        }
        var bytes = new byte[length + 1];
        Encoding.UTF8.GetBytes(commandLine, bytes);
        return bytes;
    }

    /// <summary>Encodes and writes the line at <see cref="Layout.CommandLine"/>; returns that address.</summary>
    internal static ulong Write(Ember.Memory.IGuestMemory memory, string commandLine, int maxLength)
    {
        byte[] bytes = Encode(commandLine, Math.Min(maxLength, Layout.CommandLineMaxSize - 1));
        GuestRam.Write(memory, Layout.CommandLine, bytes, "kernel command line");
        return Layout.CommandLine;
    }
}
