using System.Net.Sockets;
using Ember.Sys;
using Ember.Vmm.Machine;
using Microsoft.Extensions.Logging;

namespace Ember.Vmm.Debugging;

/// <summary>
/// The GDB remote stub of one machine: a listening socket and, at most, one debugger connected to it, served on
/// the stub's own thread (an <see cref="EventLoop"/> with the <see cref="ThreadRole.Gdb"/> role). A debugger that
/// connects stops every vCPU; its packets go through a <see cref="GdbSession"/>; a stop of the machine comes back
/// through <see cref="MachineDebugTarget.StopSignal"/> as a stop reply. When the debugger detaches or its connection
/// drops, every breakpoint is removed and the guest runs on untouched; the next debugger may connect.
/// <para>
/// Threat model: the peer is whoever reaches the endpoint; it can read and change the guest by design, but it cannot
/// hurt the VMM: input is framed with a size cap (<see cref="PacketSize"/>), every handler catches what a bug might
/// throw and drops that connection, and a peer that stops reading is disconnected after <see cref="WriteTimeout"/>.
/// </para>
/// </summary>
internal sealed class GdbServer : IDisposable
{
    /// <summary>The PacketSize GDB is told: room for a g packet (552 bytes as 1104 hex digits) and 8 KiB memory reads.</summary>
    public const int PacketSize = 0x4000;

    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long disposing waits for the stub thread to tell a connected debugger that the machine ended.</summary>
    private static readonly TimeSpan FinalReportTimeout = TimeSpan.FromSeconds(2);

    private readonly EventLoop _loop = new();
    private readonly IGdbListener _listener;
    private readonly MachineDebugTarget _target;
    private readonly ILogger _logger;
    private readonly GdbPacketFramer _framer = new(PacketSize);
    private readonly List<GdbInput> _inputs = [];
    private readonly byte[] _readBuffer = new byte[4096];
    private IGdbConnection? _connection;
    private EventSubscription? _connectionSubscription;
    private GdbSession? _session;
    private byte[] _lastPacket = [];
    private int _disposed;

    private GdbServer(IGdbListener listener, MachineDebugTarget target, ILogger logger)
    {
        _listener = listener;
        _target = target;
        _logger = logger;
    }

    /// <summary>Where the stub listens (with the real port when port 0 was asked for).</summary>
    public GdbEndpoint Endpoint => _listener.Endpoint;

    /// <summary>Binds the endpoint now, so a taken port or path fails the machine's creation with one clear line.</summary>
    public static GdbServer Listen(GdbEndpoint endpoint, MachineDebugTarget target, ILogger logger)
    {
        IGdbListener listener;
        try
        {
            listener = endpoint.Transport == GdbTransport.Unix
                ? new UnixGdbListener(UnixListener.Bind(endpoint.Path!, backlog: 1), endpoint)
                : TcpGdbListener.Bind(endpoint.Host!, endpoint.Port);
        }
        catch (Exception e) when (e is SocketException or SystemCallException or ArgumentException)
        {
            target.Dispose();
            throw new MachineConfigurationException(e switch
            {
                SocketException socket => $"cannot listen for gdb on {endpoint}: {Describe(socket.SocketErrorCode)}",
                SystemCallException => $"cannot listen for gdb: {e.Message}",
                _ => $"cannot listen for gdb on {endpoint}: {e.Message}",
            });
        }
        return new GdbServer(listener, target, logger);
    }

    private static string Describe(SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use",
        SocketError.AddressNotAvailable => "that address is not one of this host's",
        SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
        _ => error.ToString(),
    };

    /// <summary>
    /// Starts serving, before the vCPU threads start. With <paramref name="waitForDebugger"/> every vCPU is held
    /// before its first instruction until a debugger connects and continues.
    /// </summary>
    public void Start(bool waitForDebugger)
    {
        if (waitForDebugger)
            _target.HoldAll();
        _loop.Subscribe(_listener.Handle, EpollEvents.In, _ => Guarded(Accept));
        _loop.Subscribe(_target.StopSignal.Handle, EpollEvents.In, _ => Guarded(OnStopSignal));
        _loop.Start(ThreadRole.Gdb);
        _logger.LogDebug("gdb stub listening on {Endpoint}{Wait}", Endpoint, waitForDebugger ? ", vCPUs held until a debugger continues" : "");
    }

    /// <summary>Runs a handler; whatever it throws ends the connection, never the loop or the VMM.</summary>
    private void Guarded(Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning("gdb: dropping the debugger's connection: {Error}", e.Message);
            EndSession(detach: true);
        }
    }

    private void Accept()
    {
        while (_listener.Accept() is { } connection)
        {
            if (_connection is not null || _target.ExitStatus is not null)
            {
                // One debugger at a time; a second would fight the first over the same vCPUs.
                connection.Dispose();
                continue;
            }
            _connection = connection;
            _framer.Reset();
            _lastPacket = [];
            var stop = _target.StopAll() ?? new GdbStopEvent(0, GdbStopKind.Attached);
            _session = new GdbSession(_target, PacketSize, stop with { Kind = GdbStopKind.Attached });
            _connectionSubscription = _loop.Subscribe(connection.Handle, EpollEvents.In, _ => Guarded(OnReadable));
            _logger.LogInformation("gdb: debugger connected on {Endpoint}; the guest is stopped", Endpoint);
        }
    }

    private void OnReadable()
    {
        if (_connection is null || _session is null)
            return;
        var result = _connection.Read(_readBuffer);
        if (result.Status == SocketIoStatus.WouldBlock)
            return;
        if (result.Status == SocketIoStatus.Closed)
        {
            _logger.LogInformation("gdb: the debugger's connection closed; the guest runs on");
            EndSession(detach: true);
            return;
        }
        _inputs.Clear();
        _framer.Feed(_readBuffer.AsSpan(0, result.Count), _inputs);
        foreach (var input in _inputs)
        {
            if (_session is null)
                return;
            Serve(_session, input);
        }
    }

    private void Serve(GdbSession session, GdbInput input)
    {
        switch (input.Kind)
        {
            case GdbInputKind.Packet:
                Acknowledge(session, '+');
                if (session.IsRunning)
                {
                    // All-stop: GDB waits for the stop reply before it sends anything but Ctrl-C.
                    _logger.LogDebug("gdb: packet while the target runs, ignored");
                    return;
                }
                bool wasAcking = !session.NoAckMode;
                Reply(session, session.Handle(input.Payload), wasAcking);
                break;
            case GdbInputKind.BadChecksum:
                Acknowledge(session, '-');
                break;
            case GdbInputKind.Overlong or GdbInputKind.Malformed:
                Acknowledge(session, '+');
                if (!session.IsRunning)
                    Reply(session, GdbSession.ErrorGeneral, !session.NoAckMode);
                break;
            case GdbInputKind.Interrupt:
                Reply(session, session.Interrupt(), !session.NoAckMode);
                break;
            case GdbInputKind.Nak:
                if (!session.NoAckMode && _lastPacket.Length > 0)
                    WriteAll(_lastPacket);
                break;
        }
    }

    private void Acknowledge(GdbSession session, char ack)
    {
        if (!session.NoAckMode)
            WriteAll([(byte)ack]);
    }

    /// <summary>Sends a reply (if there is one) and ends the session after the last one (D, k, the machine's end).</summary>
    private void Reply(GdbSession session, string? reply, bool keepForResend)
    {
        if (reply is not null)
        {
            var packet = GdbPacketEncoder.Frame(reply);
            _lastPacket = keepForResend ? packet : [];
            WriteAll(packet);
        }
        if (session.Ended)
            EndSession(detach: false);
    }

    private void OnStopSignal()
    {
        _target.StopSignal.Drain();
        if (_session is { } session)
        {
            Reply(session, session.PollStop(), !session.NoAckMode);
            // The machine ended while GDB had it stopped: nothing more to debug.
            if (_session is not null && !session.IsRunning && _target.ExitStatus is not null)
                EndSession(detach: false);
        }
    }

    private void WriteAll(ReadOnlySpan<byte> data)
    {
        if (_connection is null)
            return;
        long deadline = Environment.TickCount64 + (long)WriteTimeout.TotalMilliseconds;
        while (!data.IsEmpty)
        {
            var result = _connection.Write(data);
            switch (result.Status)
            {
                case SocketIoStatus.Transferred:
                    data = data[result.Count..];
                    break;
                case SocketIoStatus.WouldBlock when Environment.TickCount64 < deadline:
                    // GDB reads its replies promptly; a full socket buffer clears in a moment or never.
                    Thread.Sleep(1);
                    break;
                default:
                    throw new IOException(result.Status == SocketIoStatus.Closed ? "the debugger went away" : "the debugger stopped reading");
            }
        }
    }

    /// <summary>Closes the connection; after a drop or a detach the target loses every breakpoint and runs on.</summary>
    private void EndSession(bool detach)
    {
        var session = _session;
        Volatile.Write(ref _session, null);
        if (_connectionSubscription is not null)
        {
            _loop.Unsubscribe(_connectionSubscription);
            _connectionSubscription = null;
        }
        _connection?.Dispose();
        _connection = null;
        if (session is not null && detach && _target.ExitStatus is null)
            _target.Detach();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // A debugger still connected when the machine ended hears how it ended (W) before the stub goes, even when
        // the program disposes the machine the moment it stops (ember exits right after).
        if (_target.ExitStatus is not null && Volatile.Read(ref _session) is not null)
        {
            _target.StopSignal.Signal();
            long deadline = Environment.TickCount64 + (long)FinalReportTimeout.TotalMilliseconds;
            while (Volatile.Read(ref _session) is not null && Environment.TickCount64 < deadline)
                Thread.Sleep(5);
        }
        _loop.Dispose();
        _connection?.Dispose();
        _listener.Dispose();
        _target.Dispose();
    }
}
