using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ember.Kvm.Interop;

namespace Ember.Kvm;

/// <summary>
/// A typed view of the exit that KVM_RUN just reported, over the vCPU's mmap'd <c>kvm_run</c>
/// page. A ref struct so that decoding an exit never allocates; valid until the next Run.
/// </summary>
public readonly ref struct VcpuExit
{
    private readonly Span<byte> _run;

    internal VcpuExit(Span<byte> run, VcpuExitReason reason)
    {
        _run = run;
        Reason = reason;
    }

    public VcpuExitReason Reason { get; }

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.Io"/>.</summary>
    public IoExit Io
    {
        get
        {
            var direction = (IoDirection)_run[KvmRunLayout.IoDirection];
            int size = _run[KvmRunLayout.IoSize];
            ushort port = BinaryPrimitives.ReadUInt16LittleEndian(_run[KvmRunLayout.IoPort..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.IoCount..]);
            ulong dataOffset = BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.IoDataOffset..]);
            // The kernel places the data inside the run mapping; check it anyway rather than trust an offset.
            ulong total = (ulong)size * count;
            Span<byte> data = dataOffset <= (ulong)_run.Length && total <= (ulong)_run.Length - dataOffset
                ? _run.Slice((int)dataOffset, (int)total)
                : Span<byte>.Empty;
            return new IoExit(port, size, direction, count, data);
        }
    }

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.Mmio"/>.</summary>
    public MmioExit Mmio
    {
        get
        {
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.MmioPhysAddr..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.MmioLen..]);
            bool isWrite = _run[KvmRunLayout.MmioIsWrite] != 0;
            return new MmioExit(address, isWrite, _run.Slice(KvmRunLayout.MmioData, (int)Math.Min(length, 8u)));
        }
    }

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.IoapicEoi"/>: the vector the LAPIC EOI'd.</summary>
    public byte EoiVector => _run[KvmRunLayout.EoiVector];

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.InternalError"/>.</summary>
    public InternalErrorKind InternalErrorKind =>
        (InternalErrorKind)BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.InternalSuberror..]);

    /// <summary>The data words of an internal-error exit (at most 16).</summary>
    public ReadOnlySpan<ulong> InternalErrorData
    {
        get
        {
            uint n = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.InternalNData..]), (uint)KvmRunLayout.InternalDataMax);
            return MemoryMarshal.Cast<byte, ulong>(_run.Slice(KvmRunLayout.InternalData, (int)n * 8));
        }
    }

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.SystemEvent"/>.</summary>
    public SystemEventType SystemEventType =>
        (SystemEventType)BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.SystemEventType..]);

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.FailEntry"/>.</summary>
    public ulong FailEntryReason => BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.FailEntryReason..]);

    public uint FailEntryCpu => BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.FailEntryCpu..]);

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.Debug"/>.</summary>
    public DebugExit Debug => new(
        BinaryPrimitives.ReadUInt32LittleEndian(_run[KvmRunLayout.DebugException..]),
        BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.DebugPc..]),
        BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.DebugDr6..]),
        BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.DebugDr7..]));

    /// <summary>Valid when <see cref="Reason"/> is <see cref="VcpuExitReason.Unknown"/>.</summary>
    public ulong HardwareExitReason => BinaryPrimitives.ReadUInt64LittleEndian(_run[KvmRunLayout.HardwareExitReason..]);
}
