using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using G = Ember.TestGuests.Virtio.VirtioGuestLayout;
using L = Ember.TestGuests.Virtio.VirtioEntropyGuestLayout;

namespace Ember.TestGuests.Virtio;

/// <summary>
/// Writes <see cref="VirtioEntropyGuest"/>'s code: after the shared bring-up, a loop that offers the device one
/// device-writable descriptor over the rest of the buffer (at most the program's request length), and takes the used
/// length as the bytes it got (virtio 1.2 §5.4.6.1: the device writes at most the buffer, at least one byte).
/// </summary>
internal sealed class VirtioEntropyGuestEmitter
{
    private const int Queue = 0;
    private const uint VarAsked = L.Variables + 0x00;   // this request's buffer length

    private readonly Assembler _a;
    private readonly VirtioPciDriverEmitter _driver;
    private readonly VirtioEntropyGuestProgram _program;

    public VirtioEntropyGuestEmitter(Assembler assembler, VirtioEntropyGuestProgram program)
    {
        _a = assembler;
        _program = program;
        _driver = new VirtioPciDriverEmitter(assembler, new VirtioPciDriverOptions(VirtioEntropyGuest.DeviceType, program.DeviceIndex), EmitFailureDetail);
    }

    public void Emit()
    {
        var a = _a;
        var d = _driver;
        var request = a.CreateLabel();
        var lengthChosen = a.CreateLabel();
        ushort size = _program.QueueSize;
        uint descriptor = G.DescriptorTable(Queue), used = G.UsedRing(Queue);

        d.Start();
        d.FindFunction();
        d.WalkCapabilities(requireDeviceConfiguration: false);
        d.NegotiateFeatures();
        d.SetUpQueue(Queue, size);
        d.DriverOk();
        d.PrintFound("virtio-rng");
        d.Print("\n");

        a.xor(eax, eax);
        a.mov(edi, L.Buffer);
        a.mov(ecx, _program.ByteCount);
        a.rep.stosb();

        a.Label(ref request);
        a.mov(ecx, _program.ByteCount);
        a.sub(ecx, __dword_ptr[L.ResultBytes]);
        a.cmp(ecx, _program.RequestLength);
        a.jbe(lengthChosen);
        a.mov(ecx, _program.RequestLength);
        a.Label(ref lengthChosen);
        a.mov(__dword_ptr[VarAsked], ecx);
        // Descriptor 0: the rest of the buffer, device-writable, alone in its chain.
        a.mov(eax, __dword_ptr[L.ResultBytes]);
        a.add(eax, L.Buffer);
        a.mov(__dword_ptr[descriptor], eax);
        a.mov(__dword_ptr[descriptor + 4], 0);
        a.mov(__dword_ptr[descriptor + 8], ecx);
        a.mov(__word_ptr[descriptor + 12], VirtioPciDriverEmitter.DescWrite);
        a.mov(__word_ptr[descriptor + 14], 0);
        a.xor(edx, edx);
        d.Publish(Queue, size, dx);
        a.lea(esi, __[eax - 1]);
        d.Notify(Queue);
        d.WaitForUsed(Queue, si);
        a.lea(ebx, __[eax - 1]);
        a.and(ebx, size - 1);
        a.mov(eax, __dword_ptr[ebx * 8 + (used + 4)]);
        a.test(eax, eax);
        d.OnFailure(VirtioGuestOutcome.WrongUsedId, ok => a.jz(ok));
        a.mov(eax, __dword_ptr[ebx * 8 + (used + 8)]);
        a.test(eax, eax);
        d.OnFailure(VirtioGuestOutcome.WrongUsedLength, ok => a.jnz(ok));
        a.cmp(eax, __dword_ptr[VarAsked]);
        d.OnFailure(VirtioGuestOutcome.WrongUsedLength, ok => a.jbe(ok));
        a.add(__dword_ptr[L.ResultBytes], eax);
        a.inc(__dword_ptr[L.ResultRequests]);
        a.cmp(__dword_ptr[L.ResultBytes], _program.ByteCount);
        a.jb(request);

        d.Print("entropy");
        EmitCounts();
        d.Print(" first");
        for (int i = 0; i < Math.Min(L.BytesShown, (int)_program.ByteCount); i++)
        {
            d.Print(" ");
            a.movzx(eax, __byte_ptr[L.Buffer + (uint)i]);
            a.call(d.PrintHex8);
        }
        d.Print("\n");
        d.Succeed();
        d.EmitSubroutines();
    }

    /// <summary>" bytes xxxxxxxx requests xxxxxxxx": on the result line and the "FAIL" line alike.</summary>
    private void EmitCounts()
    {
        var a = _a;
        _driver.Print(" bytes ");
        a.mov(eax, __dword_ptr[L.ResultBytes]);
        a.call(_driver.PrintHex32);
        _driver.Print(" requests ");
        a.mov(eax, __dword_ptr[L.ResultRequests]);
        a.call(_driver.PrintHex32);
    }

    private void EmitFailureDetail() => EmitCounts();
}
