using System.Text;

namespace Ember.Vmm.Debugging;

/// <summary>
/// One GDB connection's conversation in all-stop mode (GDB manual, "Remote Protocol"): it answers each packet
/// while the target is stopped, starts the target on c, s, C, S and vCont, and turns the next stop into a stop
/// reply. Threads are the vCPUs, ids 1..n. The session knows nothing of sockets or KVM: it sees packets and an
/// <see cref="IGdbTarget"/>, so every command is unit-tested on its own.
/// <para>
/// Threat model: packets come from whoever reached the socket. Each field is parsed strictly (a malformed number,
/// a thread that does not exist, a length that disagrees with its data give an error reply); memory reads are
/// capped to what fits in one reply; nothing here throws on a packet's content.
/// </para>
/// </summary>
internal sealed class GdbSession
{
    public const string ErrorGeneral = "E01";
    public const string ErrorMemory = "E0e";
    public const string ErrorInvalid = "E16";

    private const string TargetXml = "target.xml";

    private readonly IGdbTarget _target;
    private readonly int _packetSize;
    private GdbArchitecture? _architecture;
    private GdbStopEvent _lastStop;
    private int _generalVcpu;
    private int _continueVcpu = -1;
    private bool _reportSoftwareBreaks;
    private bool _reportHardwareBreaks;

    /// <param name="packetSize">The PacketSize GDB is told: the longest packet either side sends.</param>
    /// <param name="initialStop">The stop GDB finds the target in when it connects (the '?' reply).</param>
    public GdbSession(IGdbTarget target, int packetSize, GdbStopEvent initialStop)
    {
        _target = target;
        _packetSize = packetSize;
        _lastStop = initialStop;
        _generalVcpu = initialStop.Vcpu;
    }

    /// <summary>After QStartNoAckMode: neither side sends '+' or '-' any more.</summary>
    public bool NoAckMode { get; private set; }

    /// <summary>True from a resume until the stop reply: only Ctrl-C is served meanwhile.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>After D, k or the machine's end: the connection closes once the reply (if any) is sent.</summary>
    public bool Ended { get; private set; }

    /// <summary>The register set this session uses, chosen from the vCPU's mode when GDB first asks.</summary>
    public GdbArchitecture Architecture => _architecture ??= ChooseArchitecture();

    /// <summary>The reply to one packet (null: none is due, after a resume or a kill). Never throws on the packet's content.</summary>
    public string? Handle(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty)
            return "";
        var args = packet[1..];
        return packet[0] switch
        {
            (byte)'?' => StopReply(_lastStop),
            (byte)'q' => Query(args),
            (byte)'Q' => SetQuery(args),
            (byte)'H' => SetThread(args),
            (byte)'T' => ThreadAlive(args),
            (byte)'g' => ReadAllRegisters(),
            (byte)'G' => WriteAllRegisters(args),
            (byte)'p' => ReadRegister(args),
            (byte)'P' => WriteRegister(args),
            (byte)'m' => ReadMemory(args),
            (byte)'M' => WriteMemoryHex(args),
            (byte)'X' => WriteMemoryBinary(args),
            (byte)'c' or (byte)'C' => LegacyResume(args, step: false, withSignal: packet[0] == (byte)'C'),
            (byte)'s' or (byte)'S' => LegacyResume(args, step: true, withSignal: packet[0] == (byte)'S'),
            (byte)'v' => VerbosePacket(args),
            (byte)'Z' => Breakpoint(args, insert: true),
            (byte)'z' => Breakpoint(args, insert: false),
            (byte)'D' => Detach(),
            (byte)'k' => Kill(),
            _ => "",
        };
    }

    /// <summary>While running: the stop reply (or the exit) once the target has stopped; null while it still runs.</summary>
    public string? PollStop()
    {
        if (!IsRunning)
            return null;
        if (_target.ExitStatus is { } status)
            return Exited(status);
        var stop = _target.TakeStopEvent();
        return stop is null ? null : Stopped(stop);
    }

    /// <summary>Ctrl-C while running: stops every vCPU and says so (or reports the stop that came first).</summary>
    public string? Interrupt()
    {
        if (!IsRunning)
            return null;
        var stop = _target.StopAll();
        if (_target.ExitStatus is { } status)
            return Exited(status);
        return Stopped(stop ?? new GdbStopEvent(_lastStop.Vcpu, GdbStopKind.Interrupted));
    }

    private string Exited(int status)
    {
        IsRunning = false;
        Ended = true;
        return $"W{status & 0xFF:x2}";
    }

    private string Stopped(GdbStopEvent stop)
    {
        IsRunning = false;
        _lastStop = stop;
        _generalVcpu = stop.Vcpu;
        return StopReply(stop);
    }

    private string StopReply(GdbStopEvent stop)
    {
        int signal = stop.Kind == GdbStopKind.Interrupted ? 2 : 5;
        var reply = new StringBuilder($"T{signal:x2}thread:{GdbHex.Number((ulong)stop.Vcpu + 1)};");
        switch (stop.Kind)
        {
            case GdbStopKind.SoftwareBreakpoint when _reportSoftwareBreaks:
                reply.Append("swbreak:;");
                break;
            case GdbStopKind.HardwareBreakpoint when _reportHardwareBreaks:
                reply.Append("hwbreak:;");
                break;
            case GdbStopKind.WriteWatchpoint:
                reply.Append("watch:").Append(GdbHex.Number(stop.DataAddress)).Append(';');
                break;
            case GdbStopKind.ReadWatchpoint:
                reply.Append("rwatch:").Append(GdbHex.Number(stop.DataAddress)).Append(';');
                break;
            case GdbStopKind.AccessWatchpoint:
                reply.Append("awatch:").Append(GdbHex.Number(stop.DataAddress)).Append(';');
                break;
        }
        return reply.ToString();
    }

    private GdbArchitecture ChooseArchitecture() =>
        _target.ReadRegisters(_generalVcpu) is { In64BitMode: false } ? GdbArchitecture.I386 : GdbArchitecture.Amd64;

    private X86RegisterLayout Layout => X86RegisterLayout.For(Architecture);

    private string Query(ReadOnlySpan<byte> args)
    {
        if (args.StartsWith("Supported"u8))
        {
            _reportSoftwareBreaks = args.IndexOf("swbreak+"u8) >= 0;
            _reportHardwareBreaks = args.IndexOf("hwbreak+"u8) >= 0;
            return $"PacketSize={GdbHex.Number((ulong)_packetSize)};QStartNoAckMode+;qXfer:features:read+;swbreak+;hwbreak+";
        }
        if (args.StartsWith("Xfer:features:read:"u8))
            return ReadFeatures(args["Xfer:features:read:"u8.Length..]);
        if (args.SequenceEqual("Attached"u8) || args.StartsWith("Attached:"u8))
            return "1";  // attached to a machine that already existed: GDB detaches, not kills, when it quits
        if (args.SequenceEqual("C"u8))
            return $"QC{GdbHex.Number((ulong)_lastStop.Vcpu + 1)}";
        if (args.SequenceEqual("fThreadInfo"u8))
            return "m" + string.Join(',', Enumerable.Range(1, _target.VcpuCount).Select(id => GdbHex.Number((ulong)id)));
        if (args.SequenceEqual("sThreadInfo"u8))
            return "l";
        if (args.StartsWith("ThreadExtraInfo,"u8))
        {
            return TryParseThread(args["ThreadExtraInfo,"u8.Length..], out int vcpu) && vcpu >= 0
                ? GdbHex.EncodeBytes(Encoding.ASCII.GetBytes($"vCPU {vcpu}"))
                : ErrorInvalid;
        }
        if (args.StartsWith("Symbol"u8))
            return "OK";
        return "";
    }

    /// <summary>qXfer:features:read:ANNEX:OFFSET,LENGTH: a chunk of the description, 'm' if more follows, 'l' if it is the last.</summary>
    private string ReadFeatures(ReadOnlySpan<byte> args)
    {
        int colon = args.IndexOf((byte)':');
        if (colon < 0 || !GdbHex.TryParseAddressAndLength(args[(colon + 1)..], out ulong offset, out ulong length))
            return ErrorInvalid;
        if (!args[..colon].SequenceEqual(Encoding.ASCII.GetBytes(TargetXml)))
            return ErrorGeneral;
        string document = GdbTargetDescription.For(Architecture);
        if (offset >= (ulong)document.Length)
            return "l";
        // Escaping may double a byte; keep the framed reply inside the packet size.
        ulong room = (ulong)Math.Max(1, (_packetSize - 8) / 2);
        int start = (int)offset;
        int count = (int)Math.Min(Math.Min(length, room), (ulong)(document.Length - start));
        return (start + count >= document.Length ? "l" : "m") + document.Substring(start, count);
    }

    private string SetQuery(ReadOnlySpan<byte> args)
    {
        if (args.SequenceEqual("StartNoAckMode"u8))
        {
            NoAckMode = true;
            return "OK";
        }
        return "";
    }

    /// <summary>Hg / Hc: the thread later g, p, m … (Hg) or c, s (Hc) apply to; 0 keeps the current one, -1 means all.</summary>
    private string SetThread(ReadOnlySpan<byte> args)
    {
        if (args.Length < 2 || !TryParseThread(args[1..], out int vcpu))
            return ErrorInvalid;
        switch (args[0])
        {
            case (byte)'g':
                if (vcpu >= 0)
                    _generalVcpu = vcpu;
                return "OK";
            case (byte)'c':
                _continueVcpu = vcpu;
                return "OK";
            default:
                return ErrorInvalid;
        }
    }

    private string ThreadAlive(ReadOnlySpan<byte> args) =>
        TryParseThread(args, out int vcpu) && vcpu >= 0 ? "OK" : ErrorGeneral;

    /// <summary>
    /// A thread id to a vCPU index: 1..n → 0..n-1, 0 (any) → the current vCPU, -1 (all) → -1. A "pPID.TID" form
    /// (multiprocess syntax) is read by its TID. False for anything else, including a thread that does not exist.
    /// </summary>
    private bool TryParseThread(ReadOnlySpan<byte> text, out int vcpu)
    {
        vcpu = 0;
        if (text.Length > 0 && text[0] == (byte)'p')
        {
            int dot = text.IndexOf((byte)'.');
            if (dot < 0)
                return false;
            text = text[(dot + 1)..];
        }
        if (!GdbHex.TryParseThreadId(text, out long id))
            return false;
        if (id == -1)
        {
            vcpu = -1;
            return true;
        }
        if (id == 0)
        {
            vcpu = _generalVcpu;
            return true;
        }
        if (id > _target.VcpuCount)
            return false;
        vcpu = (int)id - 1;
        return true;
    }

    private string ReadAllRegisters()
    {
        var state = _target.ReadRegisters(_generalVcpu);
        return state is null ? ErrorGeneral : GdbHex.EncodeBytes(Layout.Pack(state));
    }

    private string WriteAllRegisters(ReadOnlySpan<byte> hex)
    {
        var layout = Layout;
        var bytes = new byte[layout.TotalBytes];
        if (!GdbHex.TryDecodeBytes(hex, bytes))
            return ErrorInvalid;
        var state = _target.ReadRegisters(_generalVcpu);
        if (state is null || !layout.Unpack(state, bytes))
            return ErrorGeneral;
        return _target.WriteRegisters(_generalVcpu, state) ? "OK" : ErrorGeneral;
    }

    private string ReadRegister(ReadOnlySpan<byte> args)
    {
        var layout = Layout;
        if (!GdbHex.TryParseNumber(args, out ulong number) || number >= (ulong)layout.Registers.Count)
            return ErrorInvalid;
        var state = _target.ReadRegisters(_generalVcpu);
        if (state is null)
            return ErrorGeneral;
        var bytes = new byte[layout.Registers[(int)number].Bytes];
        layout.Read(state, (int)number, bytes);
        return GdbHex.EncodeBytes(bytes);
    }

    private string WriteRegister(ReadOnlySpan<byte> args)
    {
        var layout = Layout;
        int equals = args.IndexOf((byte)'=');
        if (equals <= 0 || !GdbHex.TryParseNumber(args[..equals], out ulong number) || number >= (ulong)layout.Registers.Count)
            return ErrorInvalid;
        var bytes = new byte[layout.Registers[(int)number].Bytes];
        if (!GdbHex.TryDecodeBytes(args[(equals + 1)..], bytes))
            return ErrorInvalid;
        var state = _target.ReadRegisters(_generalVcpu);
        if (state is null)
            return ErrorGeneral;
        if (!layout.Write(state, (int)number, bytes))
            return ErrorGeneral;
        return _target.WriteRegisters(_generalVcpu, state) ? "OK" : ErrorGeneral;
    }

    /// <summary>The most memory bytes one m reply carries: two hex digits each, inside the packet size.</summary>
    private int MaxMemoryReply => Math.Max(1, (_packetSize - 8) / 2);

    private string ReadMemory(ReadOnlySpan<byte> args)
    {
        if (!GdbHex.TryParseAddressAndLength(args, out ulong address, out ulong length))
            return ErrorInvalid;
        if (length == 0)
            return "";
        // A shorter reply is allowed ("the server was able to read only part of the region").
        var buffer = new byte[(int)Math.Min(length, (ulong)MaxMemoryReply)];
        if (address + (ulong)buffer.Length - 1 < address)
            return ErrorMemory;
        int read = _target.ReadMemory(_generalVcpu, address, buffer);
        return read <= 0 ? ErrorMemory : GdbHex.EncodeBytes(buffer.AsSpan(0, read));
    }

    private string WriteMemoryHex(ReadOnlySpan<byte> args)
    {
        int colon = args.IndexOf((byte)':');
        if (colon < 0 || !GdbHex.TryParseAddressAndLength(args[..colon], out ulong address, out ulong length))
            return ErrorInvalid;
        var hex = args[(colon + 1)..];
        if ((ulong)hex.Length != length * 2)
            return ErrorInvalid;
        var bytes = new byte[(int)length];
        if (!GdbHex.TryDecodeBytes(hex, bytes))
            return ErrorInvalid;
        return WriteMemory(address, bytes);
    }

    private string WriteMemoryBinary(ReadOnlySpan<byte> args)
    {
        int colon = args.IndexOf((byte)':');
        if (colon < 0 || !GdbHex.TryParseAddressAndLength(args[..colon], out ulong address, out ulong length))
            return ErrorInvalid;
        var data = args[(colon + 1)..];
        if ((ulong)data.Length != length)
            return ErrorInvalid;
        return length == 0 ? "OK" : WriteMemory(address, data);
    }

    private string WriteMemory(ulong address, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return "OK";
        if (address + (ulong)data.Length - 1 < address)
            return ErrorMemory;
        return _target.WriteMemory(_generalVcpu, address, data) ? "OK" : ErrorMemory;
    }

    /// <summary>c [addr], C sig[;addr], s [addr], S sig[;addr]: the Hc thread (or the one that stopped) steps or continues.</summary>
    private string? LegacyResume(ReadOnlySpan<byte> args, bool step, bool withSignal)
    {
        // The signal is GDB's to deliver to a process; a machine has none, so it is parsed and dropped.
        if (withSignal)
        {
            int semicolon = args.IndexOf((byte)';');
            var signal = semicolon < 0 ? args : args[..semicolon];
            if (!GdbHex.TryParseNumber(signal, out _))
                return ErrorInvalid;
            args = semicolon < 0 ? [] : args[(semicolon + 1)..];
        }
        int vcpu = _continueVcpu >= 0 ? _continueVcpu : _lastStop.Vcpu;
        if (!args.IsEmpty)
        {
            if (!GdbHex.TryParseNumber(args, out ulong address))
                return ErrorInvalid;
            var state = _target.ReadRegisters(vcpu);
            if (state is null)
                return ErrorGeneral;
            state.General.Rip = address;
            if (!_target.WriteRegisters(vcpu, state))
                return ErrorGeneral;
        }
        var actions = new GdbResumeAction[_target.VcpuCount];
        if (step)
            actions[vcpu] = GdbResumeAction.Step;
        else if (_continueVcpu >= 0)
            actions[vcpu] = GdbResumeAction.Continue;
        else
            Array.Fill(actions, GdbResumeAction.Continue);
        return Resume(actions);
    }

    private string? Resume(GdbResumeAction[] actions)
    {
        if (_target.ExitStatus is { } status)
        {
            Ended = true;
            return $"W{status & 0xFF:x2}";
        }
        IsRunning = true;
        _target.Resume(actions);
        return null;
    }

    private string? VerbosePacket(ReadOnlySpan<byte> args)
    {
        if (args.SequenceEqual("Cont?"u8))
            return "vCont;c;C;s;S";
        if (args.StartsWith("Cont;"u8))
            return ContinueEach(args["Cont;"u8.Length..]);
        if (args.StartsWith("Kill"u8))
        {
            _target.Kill();
            Ended = true;
            return "OK";
        }
        return "";
    }

    /// <summary>vCont;ACTION[:THREAD];...: for each vCPU the leftmost action naming it (or naming no thread) applies.</summary>
    private string? ContinueEach(ReadOnlySpan<byte> list)
    {
        var actions = new GdbResumeAction?[_target.VcpuCount];
        foreach (var range in list.Split((byte)';'))
        {
            var item = list[range];
            int colon = item.IndexOf((byte)':');
            var verb = colon < 0 ? item : item[..colon];
            int vcpu = -1;
            if (colon >= 0 && !TryParseThread(item[(colon + 1)..], out vcpu))
                return ErrorInvalid;
            GdbResumeAction action;
            switch (verb.IsEmpty ? 0 : verb[0])
            {
                case (byte)'c' when verb.Length == 1:
                    action = GdbResumeAction.Continue;
                    break;
                case (byte)'s' when verb.Length == 1:
                    action = GdbResumeAction.Step;
                    break;
                case (byte)'C' when GdbHex.TryParseNumber(verb[1..], out _):
                    action = GdbResumeAction.Continue;
                    break;
                case (byte)'S' when GdbHex.TryParseNumber(verb[1..], out _):
                    action = GdbResumeAction.Step;
                    break;
                case (byte)'t' when verb.Length == 1:
                    action = GdbResumeAction.Stay;
                    break;
                default:
                    return ErrorInvalid;
            }
            for (int i = 0; i < actions.Length; i++)
            {
                if ((vcpu < 0 || vcpu == i) && actions[i] is null)
                    actions[i] = action;
            }
        }
        var chosen = actions.Select(a => a ?? GdbResumeAction.Stay).ToArray();
        if (chosen.All(a => a == GdbResumeAction.Stay))
            return ErrorInvalid;
        return Resume(chosen);
    }

    /// <summary>Z/z TYPE,ADDR,KIND[;conditions]: KIND is the breakpoint's length (1 for int3) or the watched length.</summary>
    private string Breakpoint(ReadOnlySpan<byte> args, bool insert)
    {
        int semicolon = args.IndexOf((byte)';');
        if (semicolon >= 0)
            args = args[..semicolon];
        if (args.Length < 3 || args[1] != (byte)',' || args[0] is < (byte)'0' or > (byte)'4'
            || !GdbHex.TryParseAddressAndLength(args[2..], out ulong address, out ulong length))
            return ErrorInvalid;
        var type = (GdbBreakpointType)(args[0] - '0');
        var result = insert
            ? _target.InsertBreakpoint(_generalVcpu, type, address, length)
            : _target.RemoveBreakpoint(_generalVcpu, type, address, length);
        return result switch
        {
            GdbBreakpointResult.Done => "OK",
            GdbBreakpointResult.Unsupported => "",
            _ => ErrorGeneral,
        };
    }

    private string Detach()
    {
        _target.Detach();
        Ended = true;
        return "OK";
    }

    private string? Kill()
    {
        _target.Kill();
        Ended = true;
        return null;
    }
}
