using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// A terminal switched to raw mode (cfmakeraw: no echo, no line editing, no signals from Ctrl-C/Ctrl-Z,
/// bytes passed through as typed) for a guest's serial console, and restored exactly when disposed.
/// Done with tcsetattr on the descriptor itself: running stty as a child process does not stick under
/// .NET, which puts its own terminal settings back whenever a child process exits.
/// </summary>
public sealed unsafe class RawTerminal : IDisposable
{
    private readonly int _fd;
    private readonly byte[] _saved = new byte[Libc.TermiosSize];
    private int _restored;

    private RawTerminal(int fd) => _fd = fd;

    /// <summary>Raw mode on <paramref name="fd"/>, or null when it is not a terminal (then nothing changes).</summary>
    public static RawTerminal? Enter(int fd = 0)
    {
        if (Libc.IsATty(fd) != 1)
            return null;
        var terminal = new RawTerminal(fd);
        var raw = stackalloc byte[Libc.TermiosSize];
        fixed (byte* saved = terminal._saved)
        {
            if (Libc.TcGetAttr(fd, saved) != 0)
                return null;
            new ReadOnlySpan<byte>(saved, Libc.TermiosSize).CopyTo(new Span<byte>(raw, Libc.TermiosSize));
        }
        Libc.CfMakeRaw(raw);
        if (Libc.TcSetAttr(fd, Libc.TCSANOW, raw) != 0)
            return null;
        return terminal;
    }

    /// <summary>Puts the saved settings back; safe to call from a signal handler's thread, and more than once.</summary>
    public void Restore()
    {
        if (Interlocked.Exchange(ref _restored, 1) != 0)
            return;
        fixed (byte* saved = _saved)
            Libc.TcSetAttr(_fd, Libc.TCSANOW, saved);
    }

    public void Dispose() => Restore();
}
