using Ember.Sys;

namespace Ember.Devices.Virtio.Socket;

/// <summary>
/// Where a Firecracker-compatible vsock device meets the host (Firecracker's docs/vsock.md): it listens on
/// uds_path for host-initiated connections, and forwards a guest's connection to port P to the Unix socket
/// "&lt;uds_path&gt;_P" (P in decimal), where a host program must already be listening; if none is, the guest
/// gets a reset.
/// </summary>
public sealed class VsockUnixPaths
{
    /// <param name="udsPath">The configured uds_path; throws <see cref="ArgumentException"/> with a one-line reason when it cannot name a socket.</param>
    public VsockUnixPaths(string udsPath)
    {
        ArgumentNullException.ThrowIfNull(udsPath);
        if (Validate(udsPath) is { } problem)
            throw new ArgumentException(problem, nameof(udsPath));
        HostListenerPath = udsPath;
    }

    /// <summary>The socket the device listens on: uds_path itself.</summary>
    public string HostListenerPath { get; }

    /// <summary>Null when <paramref name="udsPath"/> can be a vsock uds_path; otherwise why not, naming it.</summary>
    public static string? Validate(string udsPath) =>
        UnixSocketPath.Validate(udsPath) is { } problem ? $"vsock uds_path: {problem}" : null;

    /// <summary>
    /// The socket a guest connection to <paramref name="guestDestinationPort"/> goes to, "&lt;uds_path&gt;_&lt;port&gt;";
    /// false when that path would be longer than a socket path may be (the device then resets the connection).
    /// </summary>
    public bool TryGetGuestConnectionPath(uint guestDestinationPort, out string path)
    {
        path = $"{HostListenerPath}_{guestDestinationPort}";
        return UnixSocketPath.Validate(path) is null;
    }
}
