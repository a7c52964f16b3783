using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Ember.Sys.Interop;

namespace Ember.Sys;

/// <summary>
/// A host TAP interface opened for a virtio-net backend: Ethernet frames without packet information, each preceded by
/// the 12-byte virtio 1.x net header (<c>struct virtio_net_hdr_v1</c> with num_buffers, virtio 1.2 §5.1.6), so the
/// guest's header goes to the kernel as it is and offloads survive. The fd is non-blocking: subscribe
/// <see cref="Handle"/> to an <see cref="EventLoop"/> and read until <see cref="ReadFrame"/> returns 0.
/// <para>
/// A TAP that does not exist is created and disappears when this closes; a persistent one (<c>ip tuntap add</c>)
/// is attached to. Only one process may attach at a time (no multi-queue).
/// </para>
/// </summary>
public sealed unsafe class TapDevice : IDisposable
{
    /// <summary>The virtio-net header every frame carries; the kernel reads and writes it before the frame.</summary>
    public const int VnetHeaderSize = 12;

    /// <summary>An interface name's longest length in bytes (IFNAMSIZ less its NUL).</summary>
    public const int MaxNameBytes = Tun.InterfaceNameBytes - 1;

    /// <summary>The most segments <see cref="WriteFrame(ReadOnlySpan{ReadOnlyMemory{byte}})"/> gathers (IOV_MAX).</summary>
    public const int MaxSegments = Libc.IovMax;

    private TapDevice(FileDescriptorHandle handle, string name)
    {
        Handle = handle;
        Name = name;
    }

    /// <summary>The interface name, e.g. "tap0".</summary>
    public string Name { get; }

    /// <summary>The TAP's queue fd, for <see cref="EventLoop.Subscribe"/> (In: a frame is waiting; Out: writes would not block).</summary>
    public FileDescriptorHandle Handle { get; }

    /// <summary>
    /// Opens (creating if needed) the TAP <paramref name="name"/> with virtio-net headers and <paramref name="offload"/>.
    /// Throws <see cref="ArgumentException"/> for a bad name and <see cref="SystemCallException"/> with a one-line
    /// message naming the TAP and the fix when the host refuses.
    /// </summary>
    public static TapDevice Open(string name, TapOffload offload = TapOffload.None) => Open(name, offload, Tun.ClonePath);

    /// <summary>As <see cref="Open(string, TapOffload)"/> with another clone device path, so tests can make it missing.</summary>
    internal static TapDevice Open(string name, TapOffload offload, string clonePath)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (ValidateName(name) is { } problem)
            throw new ArgumentException(problem, nameof(name));

        int fd = Libc.Open(clonePath, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
            throw OpenFailure(name, clonePath, Marshal.GetLastPInvokeError());
        var handle = new FileDescriptorHandle(fd);
        try
        {
            SetInterface(handle, name);
            SetVnetHeaderSize(handle, VnetHeaderSize);
            var device = new TapDevice(handle, name);
            device.SetOffload(offload);
            return device;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Null when <paramref name="name"/> can name a TAP; otherwise why not, in one line. Names are 1 to 15 bytes of
    /// letters, digits, '-', '_' and '.', and not "." or "..": what the kernel accepts (dev_valid_name) without
    /// '%', which would let the kernel pick the name, and without characters a shell or `ip` would mangle.
    /// </summary>
    public static string? ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name))
            return "a TAP name must not be empty (e.g. tap0)";
        if (name.Length > MaxNameBytes)
            return $"TAP name '{Printable(name)}' is {name.Length} characters long; Linux allows at most {MaxNameBytes}";
        if (name is "." or "..")
            return $"'{name}' cannot name a network interface";
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                return $"TAP name '{Printable(name)}' may contain only letters, digits, '-', '_' and '.'";
        }
        return null;
    }

    /// <summary>
    /// Whether a network interface called <paramref name="name"/> (a TAP or anything else) exists in this process's
    /// network namespace. Opening a TAP that does not exist would create one, which disappears with Ember; a VMM that
    /// expects the host's TAP checks first, so a typo is an error rather than a private interface nobody routes to.
    /// </summary>
    public static bool InterfaceExists(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ValidateName(name) is null && Libc.IfNameToIndex(name) != 0;
    }

    private static string Printable(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
            builder.Append(char.IsControl(c) ? '?' : c);
        return builder.ToString();
    }

    private static SystemCallException OpenFailure(string name, string clonePath, int errno) => (Errno)errno switch
    {
        Errno.ENOENT or Errno.ENODEV or Errno.ENXIO => new SystemCallException("open", (Errno)errno,
            $"cannot open TAP '{name}': {clonePath} does not exist; load the tun module (modprobe tun) or create the node (mknod {clonePath} c 10 200)"),
        Errno.EACCES or Errno.EPERM => new SystemCallException("open", (Errno)errno,
            $"cannot open TAP '{name}': no permission to open {clonePath}; make it readable and writable for this user (it is normally mode 0666)"),
        _ => new SystemCallException("open", (Errno)errno,
            $"cannot open TAP '{name}': opening {clonePath} failed: {(Errno)errno} ({Marshal.GetPInvokeErrorMessage(errno)})"),
    };

    /// <summary>TUNSETIFF: attaches this fd to the TAP <paramref name="name"/>, creating it if it does not exist.</summary>
    private static void SetInterface(FileDescriptorHandle handle, string name)
    {
        var request = new Tun.IfReq { Flags = Tun.IFF_TAP | Tun.IFF_NO_PI | Tun.IFF_VNET_HDR };
        // ValidateName allowed only ASCII of at most 15 bytes, so the name and its NUL fit the 16-byte field.
        for (int i = 0; i < name.Length; i++)
            request.Name[i] = (byte)name[i];
        // Safe because request is a local of the 40 bytes struct ifreq the kernel reads and writes back.
        if (Libc.Ioctl(handle.Fd, Tun.TUNSETIFF, &request) == 0)
            return;
        int errno = Marshal.GetLastPInvokeError();
        throw (Errno)errno switch
        {
            Errno.EPERM => new SystemCallException("TUNSETIFF", Errno.EPERM,
                $"cannot open TAP '{name}': permission denied; run as root (CAP_NET_ADMIN) or create it for this user first: ip tuntap add {name} mode tap user $(id -un)"),
            Errno.EBUSY => new SystemCallException("TUNSETIFF", Errno.EBUSY,
                $"cannot open TAP '{name}': it is already in use by another program; stop that program or choose another TAP name"),
            Errno.EINVAL => new SystemCallException("TUNSETIFF", Errno.EINVAL,
                $"cannot open TAP '{name}': an interface of that name exists and is not a single-queue TAP; choose another name or remove it (ip link del {name})"),
            _ => new SystemCallException("TUNSETIFF", errno),
        };
    }

    /// <summary>TUNSETVNETHDRSZ: the header length in front of every frame in both directions.</summary>
    private static void SetVnetHeaderSize(FileDescriptorHandle handle, int size)
    {
        // Safe because size is a local int the kernel only reads.
        if (Libc.Ioctl(handle.Fd, Tun.TUNSETVNETHDRSZ, &size) != 0)
            throw SystemCallException.FromLastError("TUNSETVNETHDRSZ");
    }

    /// <summary>
    /// TUNSETOFFLOAD: which unfinished frames (partial checksums, TSO/UFO/USO) the TAP may give Ember. Called again when
    /// the guest's driver negotiates features. Throws with EINVAL when this kernel does not know a flag (USO before 6.2).
    /// </summary>
    public void SetOffload(TapOffload offload)
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            // TUNSETOFFLOAD takes the flags as the argument itself, not a pointer.
            if (Libc.Ioctl(Handle.Fd, Tun.TUNSETOFFLOAD, (nint)(uint)offload) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new SystemCallException("TUNSETOFFLOAD", (Errno)errno,
                    $"TAP '{Name}': the kernel refused offloads {offload}: {(Errno)errno} ({Marshal.GetPInvokeErrorMessage(errno)})");
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Reads one frame, virtio-net header first, into <paramref name="buffer"/>; returns its length, or 0 when no frame is
    /// waiting (a frame is never empty: it has at least the header). The kernel cuts a frame longer than the buffer to
    /// its length and drops the rest, so give it <see cref="VnetHeaderSize"/> plus 65550 bytes when GSO offloads are on,
    /// plus the MTU and the 14-byte Ethernet header otherwise.
    /// </summary>
    public int ReadFrame(Span<byte> buffer)
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                nint read;
                // Safe because the kernel writes at most buffer.Length bytes into the pinned span.
                fixed (byte* pointer = buffer)
                    read = Libc.Read(Handle.Fd, pointer, (nuint)buffer.Length);
                if (read >= 0)
                    return (int)read;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == (int)Errno.EAGAIN)
                    return 0;
                if (errno != (int)Errno.EINTR)
                    throw new SystemCallException("TAP read", errno);
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Writes one frame, virtio-net header first; false when the TAP cannot take it now (EAGAIN). The kernel takes a
    /// frame whole or not at all.
    /// </summary>
    public bool WriteFrame(ReadOnlySpan<byte> frame)
    {
        bool added = false;
        Handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                nint written;
                // Safe because the kernel reads at most frame.Length bytes from the pinned span.
                fixed (byte* pointer = frame)
                    written = Libc.Write(Handle.Fd, pointer, (nuint)frame.Length);
                if (written >= 0)
                    return true;
                if (RetryOrWouldBlock("TAP write"))
                    return false;
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Writes one frame gathered from <paramref name="segments"/> in order (writev: the header and a guest's
    /// descriptor buffers without a copy); the segments together are one frame, header first. False on EAGAIN.
    /// At most <see cref="MaxSegments"/> segments.
    /// </summary>
    public bool WriteFrame(ReadOnlySpan<ReadOnlyMemory<byte>> segments)
    {
        if (segments.Length > MaxSegments)
            throw new ArgumentException($"a frame may be gathered from at most {MaxSegments} segments, not {segments.Length}", nameof(segments));
        // Pooled so that a steady stream of frames does not allocate.
        var pins = ArrayPool<MemoryHandle>.Shared.Rent(segments.Length);
        var vectors = stackalloc Libc.IoVec[Math.Max(1, segments.Length)];
        bool added = false;
        try
        {
            for (int i = 0; i < segments.Length; i++)
            {
                pins[i] = segments[i].Pin();
                vectors[i] = new Libc.IoVec { Base = pins[i].Pointer, Length = (nuint)segments[i].Length };
            }
            Handle.DangerousAddRef(ref added);
            while (true)
            {
                // Safe because every segment stays pinned until the finally below and the kernel reads only their lengths.
                if (Libc.Writev(Handle.Fd, vectors, segments.Length) >= 0)
                    return true;
                if (RetryOrWouldBlock("TAP writev"))
                    return false;
            }
        }
        finally
        {
            if (added) Handle.DangerousRelease();
            for (int i = 0; i < segments.Length; i++)
                pins[i].Dispose();
            ArrayPool<MemoryHandle>.Shared.Return(pins, clearArray: true);
        }
    }

    /// <summary>After a failed write: false to retry (EINTR), true for EAGAIN; throws for anything else.</summary>
    private static bool RetryOrWouldBlock(string operation)
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno == (int)Errno.EAGAIN)
            return true;
        if (errno == (int)Errno.EINTR)
            return false;
        throw new SystemCallException(operation, errno);
    }

    public void Dispose() => Handle.Dispose();
}
