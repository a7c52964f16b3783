using System.Runtime.InteropServices;

namespace Ember.Cli;

/// <summary>
/// Everything `ember` tells its user goes through here: one line each, our own words, never a stack
/// trace, and never a .NET resource key (the AOT build strips the framework's message texts, so an
/// exception's Message may read "IO_FileNotFound_FileName"). Writing to a closed or full stderr is not
/// an error worth dying for: such a message is dropped.
/// </summary>
internal static class UserMessages
{
    public static void Error(string message) => WriteLine($"ember: error: {message}");

    public static void Warning(string message) => WriteLine($"ember: warning: {message}");

    public static void Note(string message) => WriteLine($"ember: {message}");

    private static readonly Lock WriteLock = new();

    /// <summary>True while the terminal is raw (the guest console is attached): lines then need "\r\n".</summary>
    public static bool TerminalIsRaw { get; set; }

    /// <summary>Writes one already-formatted line (the logger's), with the line ending the terminal needs.</summary>
    public static void WriteRawLine(string line) => WriteLine(line);

    private static void WriteLine(string line)
    {
        try
        {
            lock (WriteLock)
            {
                Console.Error.Write(TerminalIsRaw ? line + "\r\n" : line + "\n");
                Console.Error.Flush();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Why a file operation failed, in our words: "not found", "permission denied", "no space left on device".</summary>
    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException => "not found",
        DirectoryNotFoundException => "its directory does not exist",
        PathTooLongException => "the path is too long",
        UnauthorizedAccessException => "permission denied",
        IOException io when io.HResult is > 0 and < 4096 => StrError(io.HResult),
        IOException => "input/output error",
        _ => e.GetType().Name,
    };

    /// <summary>libc's text for an errno (strerror), which the AOT build does not strip.</summary>
    private static string StrError(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return string.IsNullOrEmpty(text) ? $"errno {errno}" : char.ToLowerInvariant(text[0]) + text[1..];
    }
}
