using System.Diagnostics;

namespace Ember.Cli;

/// <summary>
/// Puts the controlling terminal in raw mode for the guest console and restores it afterwards,
/// with stty (so no terminal ioctls need binding here). Does nothing when stdin is not a terminal.
/// </summary>
internal sealed class TerminalMode : IDisposable
{
    private readonly string? _saved;

    private TerminalMode(string? saved) => _saved = saved;

    public static TerminalMode EnterRaw()
    {
        if (Console.IsInputRedirected)
            return new TerminalMode(null);
        string? saved = Stty("-g");
        if (saved is null)
            return new TerminalMode(null);
        Stty("raw -echo");
        return new TerminalMode(saved.Trim());
    }

    private static string? Stty(string arguments)
    {
        try
        {
            var info = new ProcessStartInfo("stty", arguments) { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(info);
            if (process is null)
                return null;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (_saved is not null)
            Stty(_saved);
    }
}
