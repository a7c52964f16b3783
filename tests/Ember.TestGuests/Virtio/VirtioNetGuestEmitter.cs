using System.Buffers.Binary;
using Ember.Sys.Tests.Net;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioNetGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// Writes <see cref="VirtioNetGuest"/>'s code. A received buffer is the 12-byte virtio-net header and the frame; the
/// guest reads the frame only as far as the used length says the device wrote, and compares fields at fixed offsets
/// (an IPv4 header without options, IHL 5, is all a Linux host's reply has). Frame offsets below are from the start
/// of the Ethernet header (RFC 826 for ARP, RFC 791 and RFC 792 for the echo).
/// </summary>
internal sealed class VirtioNetGuestEmitter
{
    private const int ReceiveQueue = 0, TransmitQueue = 1;
    private const int H = L.HeaderSize;
    private const int ArpLength = EthernetFrames.HeaderSize + 28;
    private const int IcmpOffset = EthernetFrames.HeaderSize + 20;

    private readonly Assembler _a;
    private readonly VirtioPciDriverEmitter _driver;
    private readonly VirtioNetGuestProgram _program;

    public VirtioNetGuestEmitter(Assembler assembler, VirtioNetGuestProgram program)
    {
        _a = assembler;
        _program = program;
        _driver = new VirtioPciDriverEmitter(assembler, new VirtioPciDriverOptions(VirtioNetGuest.DeviceType, program.DeviceIndex), EmitFailureDetail);
    }

    public void Emit()
    {
        var a = _a;
        var d = _driver;
        ushort size = _program.QueueSize;
        byte[] arp = EthernetFrames.ArpRequest(_program.GuestMac, _program.GuestIp, _program.HostIp);
        // The destination MAC is the host's, learned from its ARP reply: zeros until the guest fills it in.
        byte[] echo = EthernetFrames.IcmpEchoRequest(_program.GuestMac, new byte[6], _program.GuestIp, _program.HostIp,
            _program.Identifier, _program.Sequence, _program.Payload);

        d.Start();
        d.FindFunction();
        d.WalkCapabilities(requireDeviceConfiguration: true);
        d.NegotiateFeatures();
        d.SetUpQueue(ReceiveQueue, size);
        d.SetUpQueue(TransmitQueue, size);
        d.DriverOk();
        d.PrintFound("virtio-net");
        d.Print("\n");
        d.PostReceiveBuffers(ReceiveQueue, size, L.ReceiveBuffers, L.ReceiveBufferCount, L.ReceiveBufferSize);

        // ARP: who has the host's address? Then frames until the host's reply to us.
        a.mov(__dword_ptr[L.ResultStage], (uint)VirtioNetGuestStage.Arp);
        Transmit(arp);
        var arpWait = a.CreateLabel();
        var arpSkip = a.CreateLabel();
        var arpFound = a.CreateLabel();
        a.Label(ref arpWait);
        d.TakeReceivedBuffer(ReceiveQueue, size, L.ReceiveBuffers, L.ReceiveBufferCount, L.ReceiveBufferSize);
        a.cmp(edx, H + ArpLength);
        a.jb(arpSkip);
        a.add(esi, H);                                        // esi = the frame
        a.cmp(__word_ptr[esi + 12], Swap(EthernetFrames.ArpType));
        a.jne(arpSkip);
        a.cmp(__word_ptr[esi + EthernetFrames.HeaderSize + 6], Swap(2));   // op: reply
        a.jne(arpSkip);
        a.cmp(__dword_ptr[esi + EthernetFrames.HeaderSize + 14], Dword(_program.HostIp));   // sender IP
        a.jne(arpSkip);
        a.cmp(__dword_ptr[esi + EthernetFrames.HeaderSize + 24], Dword(_program.GuestIp));  // target IP
        a.jne(arpSkip);
        a.mov(eax, __dword_ptr[esi + EthernetFrames.HeaderSize + 8]);      // sender MAC
        a.mov(__dword_ptr[L.ResultHostMac], eax);
        a.movzx(eax, __word_ptr[esi + EthernetFrames.HeaderSize + 12]);
        a.mov(__word_ptr[L.ResultHostMac + 4], ax);
        d.RepostTakenBuffer(ReceiveQueue, size);
        a.jmp(arpFound);
        a.Label(ref arpSkip);
        a.inc(__dword_ptr[L.ResultSkipped]);
        d.RepostTakenBuffer(ReceiveQueue, size);
        a.jmp(arpWait);
        a.Label(ref arpFound);
        d.Print("arp reply from");
        PrintHostMac();
        d.Print("\n");

        // The echo request to the MAC the host gave, then frames until its reply.
        a.mov(__dword_ptr[L.ResultStage], (uint)VirtioNetGuestStage.Echo);
        d.StoreBytes(L.TransmitBuffer, new byte[H]);
        d.StoreBytes(L.TransmitBuffer + H, echo);
        a.mov(eax, __dword_ptr[L.ResultHostMac]);
        a.mov(__dword_ptr[L.TransmitBuffer + H], eax);
        a.movzx(eax, __word_ptr[L.ResultHostMac + 4]);
        a.mov(__word_ptr[L.TransmitBuffer + H + 4], ax);
        a.mov(__dword_ptr[L.ResultEchoReplies], 0);
        var echoSend = a.CreateLabel();
        var echoWait = a.CreateLabel();
        var echoSkip = a.CreateLabel();
        var echoFound = a.CreateLabel();
        if (_program.EchoPhaseMarker is { } marker)
            a.mov(__byte_ptr[marker], 123);
        a.Label(ref echoSend);
        a.mov(ecx, (uint)(H + echo.Length));
        d.TransmitOne(TransmitQueue, size, L.TransmitBuffer);
        a.Label(ref echoWait);
        d.TakeReceivedBuffer(ReceiveQueue, size, L.ReceiveBuffers, L.ReceiveBufferCount, L.ReceiveBufferSize);
        a.cmp(edx, (uint)(H + echo.Length));
        a.jb(echoSkip);
        a.add(esi, H);
        a.cmp(__word_ptr[esi + 12], Swap(EthernetFrames.Ipv4Type));
        a.jne(echoSkip);
        a.cmp(__byte_ptr[esi + EthernetFrames.HeaderSize], 0x45);                 // version 4, IHL 5
        a.jne(echoSkip);
        a.cmp(__byte_ptr[esi + EthernetFrames.HeaderSize + 9], EthernetFrames.IcmpProtocol);
        a.jne(echoSkip);
        a.cmp(__dword_ptr[esi + EthernetFrames.HeaderSize + 12], Dword(_program.HostIp));
        a.jne(echoSkip);
        a.cmp(__dword_ptr[esi + EthernetFrames.HeaderSize + 16], Dword(_program.GuestIp));
        a.jne(echoSkip);
        a.cmp(__word_ptr[esi + IcmpOffset], 0);                                   // type 0 (echo reply), code 0
        a.jne(echoSkip);
        a.cmp(__word_ptr[esi + IcmpOffset + 4], Swap(_program.Identifier));
        a.jne(echoSkip);
        a.cmp(__word_ptr[esi + IcmpOffset + 6], Swap(_program.Sequence));
        a.jne(echoSkip);
        // The reply, kept whole for the host; then its payload must be the request's.
        a.sub(edx, H);
        a.mov(__dword_ptr[L.ResultReplyLength], edx);
        a.push(esi);
        a.mov(ecx, edx);
        a.mov(edi, L.Reply);
        a.rep.movsb();
        a.pop(esi);
        if (_program.Payload.Length > 0)
        {
            a.lea(esi, __[esi + IcmpOffset + 8]);
            a.mov(edi, L.TransmitBuffer + H + IcmpOffset + 8);
            a.mov(ecx, (uint)_program.Payload.Length);
            a.repe.cmpsb();
            d.OnFailure(VirtioGuestOutcome.NetWrongReply, ok => a.je(ok));
        }
        d.RepostTakenBuffer(ReceiveQueue, size);
        a.inc(__dword_ptr[L.ResultEchoReplies]);
        a.cmp(__dword_ptr[L.ResultEchoReplies], _program.EchoCount);
        a.jb(echoSend);
        a.jmp(echoFound);
        a.Label(ref echoSkip);
        a.inc(__dword_ptr[L.ResultSkipped]);
        d.RepostTakenBuffer(ReceiveQueue, size);
        a.jmp(echoWait);
        a.Label(ref echoFound);
        if (_program.EchoPhaseMarker is { } endMarker)
            a.mov(__byte_ptr[endMarker], 123);
        a.mov(__dword_ptr[L.ResultStage], (uint)VirtioNetGuestStage.Done);
        d.Print("echo reply bytes ");
        a.mov(eax, __dword_ptr[L.ResultReplyLength]);
        a.call(d.PrintHex32);
        d.Print(" skipped ");
        a.mov(eax, __dword_ptr[L.ResultSkipped]);
        a.call(d.PrintHex32);
        d.Print("\n");
        d.Succeed();
        d.EmitSubroutines();
    }

    /// <summary>Puts <paramref name="frame"/> behind a zeroed virtio-net header (no offload asked) and transmits it.</summary>
    private void Transmit(byte[] frame)
    {
        _driver.StoreBytes(L.TransmitBuffer, new byte[H]);
        _driver.StoreBytes(L.TransmitBuffer + H, frame);
        _a.mov(ecx, (uint)(H + frame.Length));
        _driver.TransmitOne(TransmitQueue, _program.QueueSize, L.TransmitBuffer);
    }

    private void PrintHostMac()
    {
        for (uint i = 0; i < 6; i++)
        {
            _driver.Print(" ");
            _a.movzx(eax, __byte_ptr[L.ResultHostMac + i]);
            _a.call(_driver.PrintHex8);
        }
    }

    /// <summary>The "FAIL" line's tail: " stage ss skipped xxxxxxxx".</summary>
    private void EmitFailureDetail()
    {
        _driver.Print(" stage ");
        _a.mov(eax, __dword_ptr[L.ResultStage]);
        _a.call(_driver.PrintHex8);
        _driver.Print(" skipped ");
        _a.mov(eax, __dword_ptr[L.ResultSkipped]);
        _a.call(_driver.PrintHex32);
    }

    /// <summary>A big-endian 16-bit field as a little-endian word load sees it.</summary>
    private static ushort Swap(ushort value) => BinaryPrimitives.ReverseEndianness(value);

    /// <summary>Four bytes in memory order as a little-endian dword load sees them.</summary>
    private static uint Dword(byte[] bytes) => BinaryPrimitives.ReadUInt32LittleEndian(bytes);
}
