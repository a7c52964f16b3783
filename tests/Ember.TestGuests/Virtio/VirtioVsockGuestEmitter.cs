using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using L = Ember.TestGuests.Virtio.VirtioVsockGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// Writes <see cref="VirtioVsockGuest"/>'s code. Packets follow virtio 1.2 §5.10.6: a guest-initiated connection is a
/// REQUEST answered by a RESPONSE (or a RST); a host-initiated one arrives as a REQUEST the guest answers with a
/// RESPONSE; payload is RW; SHUTDOWN with both flags ends it, and the device's RST confirms. Every packet the guest
/// sends carries buf_alloc and its fwd_cnt (the payload bytes it has consumed), and a CREDIT_REQUEST gets a
/// CREDIT_UPDATE (§5.10.6.3). Each received packet is checked before use: the used element names one of the
/// guest's buffers and covers a header, the header's len fits the buffer, the source is the host (CID 2), the
/// destination this guest's CID and port, the type a stream. One packet is in flight on the transmit queue at a time.
/// </summary>
internal sealed class VirtioVsockGuestEmitter
{
    private const int ReceiveQueue = 0, TransmitQueue = 1;
    private const ushort OpRequest = 1, OpResponse = 2, OpReset = 3, OpShutdown = 4, OpReadWrite = 5, OpCreditUpdate = 6, OpCreditRequest = 7;
    private const uint ShutdownBoth = 3;   // VIRTIO_VSOCK_SHUTDOWN_F_RECEIVE | VIRTIO_VSOCK_SHUTDOWN_F_SEND
    private const uint HostCid = 2;

    // struct virtio_vsock_hdr (§5.10.6), little-endian and packed.
    private const int SrcCid = 0, DstCid = 8, SrcPort = 16, DstPort = 20, Len = 24, Type = 28, Op = 30, Flags = 32, BufAlloc = 36, FwdCnt = 40;
    private const ushort TypeStream = 1;

    // The guest's variables (dwords).
    private const uint VarGuestCid = L.Variables + 0x00;
    private const uint VarLocalPort = L.Variables + 0x04;
    private const uint VarPeerPort = L.Variables + 0x08;
    private const uint VarForwardCount = L.Variables + 0x0C;  // payload bytes consumed on this connection
    private const uint VarEchoed = L.Variables + 0x10;

    private readonly Assembler _a;
    private readonly VirtioPciDriverEmitter _driver;
    private readonly VirtioVsockGuestProgram _program;
    private Label _receive, _repost, _send;

    public VirtioVsockGuestEmitter(Assembler assembler, VirtioVsockGuestProgram program)
    {
        _a = assembler;
        _program = program;
        _driver = new VirtioPciDriverEmitter(assembler, new VirtioPciDriverOptions(VirtioVsockGuest.DeviceType, program.DeviceIndex), EmitFailureDetail);
    }

    public void Emit()
    {
        var a = _a;
        var d = _driver;
        _receive = a.CreateLabel();
        _repost = a.CreateLabel();
        _send = a.CreateLabel();
        ushort size = _program.QueueSize;

        d.Start();
        a.mov(__dword_ptr[L.ResultStep], 0xFFFF_FFFF);
        d.FindFunction();
        d.WalkCapabilities(requireDeviceConfiguration: true);
        d.NegotiateFeatures();
        // struct virtio_vsock_config: le64 guest_cid (§5.10.4), of which only the low 32 bits are used.
        a.mov(esi, __dword_ptr[VirtioPciDriverEmitter.DeviceConfiguration]);
        a.mov(eax, __dword_ptr[esi]);
        a.mov(__dword_ptr[VarGuestCid], eax);
        a.mov(__dword_ptr[L.ResultGuestCid], eax);
        d.SetUpQueue(ReceiveQueue, size);
        d.SetUpQueue(TransmitQueue, size);
        d.DriverOk();
        d.PrintFound("virtio-vsock");
        d.Print(" cid ");
        a.mov(eax, __dword_ptr[VarGuestCid]);
        a.call(d.PrintHex32);
        d.Print("\n");

        d.PostReceiveBuffers(ReceiveQueue, size, L.ReceiveBuffers, L.ReceiveBufferCount, L.ReceiveBufferSize);
        d.Print(VirtioVsockGuest.ReadyLine + "\n");

        for (int i = 0; i < _program.Steps.Count; i++)
            EmitStep(i, _program.Steps[i]);
        d.Succeed();

        d.EmitSubroutines();
        EmitReceive();
        EmitRepost();
        EmitSend();
    }

    /// <summary>The "FAIL" line's tail: " step ssssssss op oooo" (the last packet received).</summary>
    private void EmitFailureDetail()
    {
        var a = _a;
        _driver.Print(" step ");
        a.mov(eax, __dword_ptr[L.ResultStep]);
        a.call(_driver.PrintHex32);
        _driver.Print(" op ");
        a.mov(eax, __dword_ptr[L.ResultLastOp]);
        a.call(_driver.PrintHex8);
    }

    // ---- Steps -------------------------------------------------------------------------------------

    private void EmitStep(int index, VirtioVsockGuestStep step)
    {
        var a = _a;
        var d = _driver;
        a.mov(__dword_ptr[L.ResultStep], (uint)index);
        a.mov(__dword_ptr[VarLocalPort], step.GuestPort);
        a.mov(__dword_ptr[VarForwardCount], 0);
        a.mov(__dword_ptr[VarEchoed], 0);
        if (step.GuestConnects)
        {
            a.mov(__dword_ptr[VarPeerPort], step.HostPort);
            Send(OpRequest);
            a.call(_receive);
            ExpectPeerPort();
            RefuseReset();
            a.cmp(ax, OpResponse);
            d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
            a.call(_repost);
        }
        else
        {
            a.call(_receive);
            a.cmp(ax, OpRequest);
            d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
            // The host port Ember gave the host program's end.
            a.mov(eax, __dword_ptr[esi + SrcPort]);
            a.mov(__dword_ptr[VarPeerPort], eax);
            a.call(_repost);
            Send(OpResponse);
        }
        a.mov(eax, __dword_ptr[VarPeerPort]);
        a.mov(__dword_ptr[L.ResultPeerPorts + 4 * (uint)index], eax);
        d.Print("step ");
        a.mov(eax, (uint)index);
        a.call(d.PrintHex8);
        d.Print(" connected ");
        a.mov(eax, __dword_ptr[VarPeerPort]);
        a.call(d.PrintHex32);
        d.Print("\n");

        if (step.EchoBytes > 0)
            EmitEcho(step.EchoBytes);

        // Shut down both ways, then take packets until the device's RST ends the connection.
        var closing = a.CreateLabel();
        var closed = a.CreateLabel();
        Send(OpShutdown, flags: ShutdownBoth);
        a.Label(ref closing);
        a.call(_receive);
        ExpectPeerPort();
        a.cmp(ax, OpReset);
        a.je(closed);
        a.call(_repost);                     // a credit update or a late packet: nothing to do now
        a.jmp(closing);
        a.Label(ref closed);
        a.call(_repost);

        a.mov(eax, __dword_ptr[VarEchoed]);
        a.mov(__dword_ptr[L.ResultEchoed + 4 * (uint)index], eax);
        d.Print("step ");
        a.mov(eax, (uint)index);
        a.call(d.PrintHex8);
        d.Print(" closed echoed ");
        a.mov(eax, __dword_ptr[VarEchoed]);
        a.call(d.PrintHex32);
        d.Print("\n");
    }

    /// <summary>Takes packets on the connection until <paramref name="echoBytes"/> of payload have gone back as RW packets.</summary>
    private void EmitEcho(uint echoBytes)
    {
        var a = _a;
        var d = _driver;
        var next = a.CreateLabel();
        var notPayload = a.CreateLabel();
        var notCreditRequest = a.CreateLabel();
        var counted = a.CreateLabel();
        a.Label(ref next);
        a.call(_receive);
        ExpectPeerPort();
        RefuseReset();
        a.cmp(ax, OpReadWrite);
        a.jne(notPayload);
        // The payload goes into the transmit packet as it is; consumed at once, so fwd_cnt counts it now.
        a.mov(ecx, __dword_ptr[esi + Len]);
        a.push(ecx);
        a.add(esi, L.HeaderSize);
        a.mov(edi, L.TransmitPacket + L.HeaderSize);
        a.rep.movsb();
        a.pop(ecx);
        a.add(__dword_ptr[VarForwardCount], ecx);
        a.add(__dword_ptr[VarEchoed], ecx);
        a.push(ecx);
        a.call(_repost);
        a.pop(ecx);
        a.mov(eax, (uint)OpReadWrite);
        a.xor(edx, edx);
        a.call(_send);
        a.jmp(counted);
        a.Label(ref notPayload);
        a.cmp(ax, OpCreditRequest);
        a.jne(notCreditRequest);
        a.call(_repost);
        Send(OpCreditUpdate);
        a.jmp(counted);
        a.Label(ref notCreditRequest);
        a.cmp(ax, OpCreditUpdate);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.call(_repost);
        a.Label(ref counted);
        a.cmp(__dword_ptr[VarEchoed], echoBytes);
        a.jb(next);
    }

    /// <summary>After receive: the packet must come from the connection's host port.</summary>
    private void ExpectPeerPort()
    {
        var a = _a;
        a.mov(ebx, __dword_ptr[VarPeerPort]);
        a.cmp(__dword_ptr[esi + SrcPort], ebx);
        _driver.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
    }

    /// <summary>After receive: a RST where the guest waits for an answer or payload fails the guest.</summary>
    private void RefuseReset()
    {
        _a.cmp(ax, OpReset);
        _driver.OnFailure(VirtioGuestOutcome.VsockReset, ok => _a.jne(ok));
    }

    /// <summary>Sends a packet without payload.</summary>
    private void Send(ushort op, uint flags = 0)
    {
        _a.mov(eax, (uint)op);
        _a.xor(ecx, ecx);
        _a.mov(edx, flags);
        _a.call(_send);
    }

    // ---- Subroutines -------------------------------------------------------------------------------

    /// <summary>
    /// receive: waits for the next used receive buffer, checks it (see the class comment) and returns esi = the packet,
    /// ax = its op (also in <see cref="VirtioVsockGuestLayout.ResultLastOp"/>). The buffer stays the guest's until repost.
    /// Clobbers everything but ebp.
    /// </summary>
    private void EmitReceive()
    {
        var a = _a;
        var d = _driver;
        ushort size = _program.QueueSize;
        a.Label(ref _receive);
        d.TakeReceivedBuffer(ReceiveQueue, size, L.ReceiveBuffers, L.ReceiveBufferCount, L.ReceiveBufferSize);
        a.movzx(eax, __word_ptr[esi + Op]);
        a.mov(__dword_ptr[L.ResultLastOp], eax);
        a.cmp(edx, L.HeaderSize);
        d.OnFailure(VirtioGuestOutcome.VsockBadLength, ok => a.jae(ok));
        // len bounded first, so len + header cannot wrap; then it must lie within what the device wrote.
        a.mov(eax, __dword_ptr[esi + Len]);
        a.cmp(eax, L.MaxPayload);
        d.OnFailure(VirtioGuestOutcome.VsockBadLength, ok => a.jbe(ok));
        a.add(eax, L.HeaderSize);
        a.cmp(eax, edx);
        d.OnFailure(VirtioGuestOutcome.VsockBadLength, ok => a.jbe(ok));
        a.cmp(__dword_ptr[esi + SrcCid], HostCid);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.cmp(__dword_ptr[esi + SrcCid + 4], 0);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.mov(eax, __dword_ptr[VarGuestCid]);
        a.cmp(__dword_ptr[esi + DstCid], eax);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.cmp(__dword_ptr[esi + DstCid + 4], 0);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.mov(eax, __dword_ptr[VarLocalPort]);
        a.cmp(__dword_ptr[esi + DstPort], eax);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.cmp(__word_ptr[esi + Type], TypeStream);
        d.OnFailure(VirtioGuestOutcome.VsockUnexpectedPacket, ok => a.je(ok));
        a.movzx(eax, __word_ptr[esi + Op]);
        a.ret();
    }

    /// <summary>repost: gives the current packet's buffer back to the device and rings the receive doorbell. Clobbers eax, ecx, edx.</summary>
    private void EmitRepost()
    {
        var a = _a;
        a.Label(ref _repost);
        _driver.RepostTakenBuffer(ReceiveQueue, _program.QueueSize);
        a.ret();
    }

    /// <summary>
    /// send: eax = op, ecx = payload length (the payload already after the transmit packet's header), edx = flags.
    /// Fills the header for the current connection, transmits it and waits until the device has taken it. Clobbers
    /// everything but ebp.
    /// </summary>
    private void EmitSend()
    {
        var a = _a;
        var d = _driver;
        const uint p = L.TransmitPacket;
        a.Label(ref _send);
        a.mov(__word_ptr[p + Op], ax);
        a.mov(__dword_ptr[p + Len], ecx);
        a.mov(__dword_ptr[p + Flags], edx);
        a.mov(eax, __dword_ptr[VarGuestCid]);
        a.mov(__dword_ptr[p + SrcCid], eax);
        a.mov(__dword_ptr[p + SrcCid + 4], 0);
        a.mov(__dword_ptr[p + DstCid], HostCid);
        a.mov(__dword_ptr[p + DstCid + 4], 0);
        a.mov(eax, __dword_ptr[VarLocalPort]);
        a.mov(__dword_ptr[p + SrcPort], eax);
        a.mov(eax, __dword_ptr[VarPeerPort]);
        a.mov(__dword_ptr[p + DstPort], eax);
        a.mov(__word_ptr[p + Type], TypeStream);
        a.mov(__dword_ptr[p + BufAlloc], L.BufferAllocation);
        a.mov(eax, __dword_ptr[VarForwardCount]);
        a.mov(__dword_ptr[p + FwdCnt], eax);
        a.add(ecx, L.HeaderSize);
        d.TransmitOne(TransmitQueue, _program.QueueSize, p);
        a.ret();
    }
}
