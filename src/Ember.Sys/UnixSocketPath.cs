using System.Text;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>What a filesystem path must be to name a Unix socket: sun_path holds it with its NUL in 108 bytes.</summary>
public static unsafe class UnixSocketPath
{
    /// <summary>The longest path in bytes (UTF-8) a Unix socket can be bound to or connected to.</summary>
    public const int MaxBytes = Libc.SunPathBytes - 1;

    /// <summary>Null when <paramref name="path"/> can name a Unix socket; otherwise why not, in one line.</summary>
    public static string? Validate(string path)
    {
        if (string.IsNullOrEmpty(path))
            return "a Unix socket path must not be empty";
        if (path.Contains('\0'))
            return "a Unix socket path must not contain a NUL character";
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxBytes)
            return $"the Unix socket path {path} is {bytes} bytes long; Linux allows at most {MaxBytes}: choose a shorter path";
        return null;
    }

    /// <summary>Fills a sockaddr_un for <paramref name="path"/>; throws <see cref="ArgumentException"/> for a path that cannot be one.</summary>
    internal static uint Fill(string path, out Libc.SockAddrUn address)
    {
        if (Validate(path) is { } problem)
            throw new ArgumentException(problem, nameof(path));
        address = default;
        address.Family = Libc.AF_UNIX;
        fixed (byte* destination = address.Path)
        {
            // Validate bounded the length to 107 bytes, so the zeroed struct keeps a terminating NUL after it.
            int written = Encoding.UTF8.GetBytes(path, new Span<byte>(destination, Libc.SunPathBytes));
            return (uint)(sizeof(ushort) + written + 1);
        }
    }
}
