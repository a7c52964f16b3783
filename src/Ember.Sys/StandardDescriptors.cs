using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// Makes sure descriptors 0, 1 and 2 are open before anything else opens a file. A program started with
/// stdin closed (<c>&lt;&amp;-</c>) would otherwise hand fd 0 to the next file it opens (seen: /dev/urandom,
/// whose bytes then went to the guest as keyboard input); with stderr closed, error messages would go
/// into whatever file got fd 2. Each closed one gets /dev/null.
/// </summary>
public static class StandardDescriptors
{
    /// <summary>Opens /dev/null on each of fds 0-2 that is closed; returns which ones were closed.</summary>
    public static IReadOnlyList<int> EnsureOpen()
    {
        var closed = new List<int>();
        for (int fd = 0; fd <= 2; fd++)
        {
            if (Libc.Fcntl(fd, Libc.F_GETFD) >= 0)
                continue;
            closed.Add(fd);
            // open() returns the lowest free descriptor, which is this one; dup2 covers any other outcome.
            int opened = Libc.Open("/dev/null", Libc.O_RDWR);
            if (opened >= 0 && opened != fd)
            {
                Libc.Dup2(opened, fd);
                Libc.Close(opened);
            }
        }
        return closed;
    }

    /// <summary>True when <paramref name="fd"/> is a terminal.</summary>
    public static bool IsTerminal(int fd) => Libc.IsATty(fd) == 1;
}
