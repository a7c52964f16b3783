using Ember.Devices.Bus;

namespace Ember.Devices.Interrupts;

/// <summary>
/// The PC/AT pair of 8259As: a master for IRQ0–7 and a slave for IRQ8–15 whose INT output drives the
/// master's IR2, plus the ELCR that makes single IRQs level-triggered. The VMM registers
/// <see cref="MasterPorts"/> (0x20), <see cref="SlavePorts"/> (0xA0) and <see cref="Elcr"/> (0x4D0), wires
/// devices to <see cref="GetLine"/>, and on <see cref="OutputChanged"/> / <see cref="HasPendingInterrupt"/>
/// runs <see cref="Acknowledge"/> to get the vector to inject.
/// <para>
/// Threat model: the guest controls every byte written to the five ports; each chip decodes all values
/// to defined behaviour, holds no guest-sized buffers, and wrong widths or offsets are dropped and counted.
/// A guest can mask, unmask and re-prioritise its own interrupts, nothing more.
/// </para>
/// <para>
/// The cascade input IR2 is treated as level-sensitive whatever the ELCR says: on a real PIIX the cascade
/// is internal, and following the slave's INT level means a slave request still pending after an EOI is
/// not lost for want of a new edge.
/// </para>
/// </summary>
public sealed class DualPic
{
    /// <summary>ISA IRQs 0–15.</summary>
    public const int IrqCount = 16;

    /// <summary>The master input that carries the slave's INT; not available to devices.</summary>
    public const int CascadeIrq = 2;

    private const int SlaveFirstIrq = 8;
    private const byte CascadeInputBit = 1 << CascadeIrq;

    // PIIX4 datasheet, ELCR1/ELCR2: IRQ0 (timer), IRQ1 (keyboard), IRQ2 (cascade), IRQ8 (RTC) and IRQ13
    // (FPU error) are edge-only; their bits are reserved and read as 0.
    private const byte ElcrMasterWritableBits = 0xF8;
    private const byte ElcrSlaveWritableBits = 0xDE;

    private readonly Lock _lock = new();
    private readonly Pic8259 _master;
    private readonly Pic8259 _slave;
    private readonly IInterruptLine[] _lines = new IInterruptLine[IrqCount];
    private byte _elcrMaster;
    private byte _elcrSlave;
    private bool _output;
    private long _droppedAccesses;

    public DualPic()
        : this(new Pic8259(), new Pic8259(), 0, 0)
    {
    }

    private DualPic(Pic8259 master, Pic8259 slave, byte elcrMaster, byte elcrSlave)
    {
        _master = master;
        _slave = slave;
        _elcrMaster = (byte)(elcrMaster & ElcrMasterWritableBits);
        _elcrSlave = (byte)(elcrSlave & ElcrSlaveWritableBits);
        ApplyElcrLocked();
        for (int irq = 0; irq < IrqCount; irq++)
            _lines[irq] = new PicLine(this, irq);
        MasterPorts = new PicPorts(this, master: true);
        SlavePorts = new PicPorts(this, master: false);
        Elcr = new Elcr(this);
        UpdateOutputLocked();
    }

    /// <summary>The master's command/data ports (offsets 0/1; I/O ports 0x20/0x21).</summary>
    public IBusDevice MasterPorts { get; }

    /// <summary>The slave's command/data ports (offsets 0/1; I/O ports 0xA0/0xA1).</summary>
    public IBusDevice SlavePorts { get; }

    /// <summary>The edge/level control registers (offsets 0/1; I/O ports 0x4D0/0x4D1).</summary>
    public Elcr Elcr { get; }

    /// <summary>Guest accesses ignored because of their offset or width.</summary>
    public long DroppedAccesses => Interlocked.Read(ref _droppedAccesses);

    /// <summary>The master's INT output: the CPU should run an interrupt acknowledge.</summary>
    public bool HasPendingInterrupt
    {
        get { lock (_lock) return _output; }
    }

    /// <summary>
    /// The master's INT output changed to the given level. Raised without the lock held, so by the time a
    /// handler runs the level may have moved on: treat it as a kick and read <see cref="HasPendingInterrupt"/>.
    /// </summary>
    public event Action<bool>? OutputChanged;

    /// <summary>The wire of ISA IRQ <paramref name="irq"/> (0–15), for a device to drive.</summary>
    public IInterruptLine GetLine(int irq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, IrqCount);
        return _lines[irq];
    }

    /// <summary>Drives ISA IRQ <paramref name="irq"/>. IRQ2 (the cascade) and numbers outside 0–15 are ignored.</summary>
    public void SetIrqLevel(int irq, bool high)
    {
        if ((uint)irq >= IrqCount || irq == CascadeIrq)
            return;
        bool? changed;
        lock (_lock)
        {
            if (irq < SlaveFirstIrq)
                _master.SetInput(irq, high);
            else
                _slave.SetInput(irq - SlaveFirstIrq, high);
            changed = UpdateOutputLocked();
        }
        Raise(changed);
    }

    /// <summary>
    /// The CPU's interrupt acknowledge cycle: the vector to inject. The master resolves its highest request;
    /// if that is the cascade input the slave supplies the vector. When the request has gone by the time of
    /// the acknowledge, the chip answers with its IR7 vector without setting an in-service bit (a spurious
    /// IRQ7, or IRQ15 with the master's IR2 in service). Null while the master has never been initialized,
    /// since its vector base would point into the CPU's exception vectors.
    /// </summary>
    public int? Acknowledge()
    {
        int vector;
        bool? changed;
        lock (_lock)
        {
            if (!_master.IsInitialized)
                return null;
            int line = _master.Acknowledge(out bool spurious);
            if (!spurious && line == CascadeIrq && _master.IsCascadeLine(line))
            {
                int slaveLine = _slave.Acknowledge(out _);
                vector = _slave.VectorBase + slaveLine;
            }
            else
            {
                vector = _master.VectorBase + line;
            }
            changed = UpdateOutputLocked();
        }
        Raise(changed);
        return vector;
    }

    public PicState GetState()
    {
        lock (_lock)
            return new PicState(_master.GetState(), _slave.GetState(), _elcrMaster, _elcrSlave);
    }

    public static DualPic FromState(PicState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new DualPic(Pic8259.FromState(state.Master), Pic8259.FromState(state.Slave), state.ElcrMaster, state.ElcrSlave);
    }

    internal void ReadPort(bool master, ulong offset, Span<byte> data)
    {
        if (data.Length != 1 || offset > 1)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        bool? changed;
        lock (_lock)
        {
            var chip = master ? _master : _slave;
            // A read can be a poll, which acknowledges.
            data[0] = offset == 0 ? chip.ReadCommand() : chip.ReadData();
            changed = UpdateOutputLocked();
        }
        Raise(changed);
    }

    internal void WritePort(bool master, ulong offset, ReadOnlySpan<byte> data)
    {
        if (data.Length != 1 || offset > 1)
        {
            Interlocked.Increment(ref _droppedAccesses);
            return;
        }
        bool? changed;
        lock (_lock)
        {
            var chip = master ? _master : _slave;
            if (offset == 0)
                chip.WriteCommand(data[0]);
            else
                chip.WriteData(data[0]);
            changed = UpdateOutputLocked();
        }
        Raise(changed);
    }

    internal void ReadElcr(ulong offset, Span<byte> data)
    {
        if (!IsElcrAccess(offset, data.Length))
            return;
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
                data[i] = offset + (ulong)i == 0 ? _elcrMaster : _elcrSlave;
        }
    }

    internal void WriteElcr(ulong offset, ReadOnlySpan<byte> data)
    {
        if (!IsElcrAccess(offset, data.Length))
            return;
        bool? changed;
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                if (offset + (ulong)i == 0)
                    _elcrMaster = (byte)(data[i] & ElcrMasterWritableBits);
                else
                    _elcrSlave = (byte)(data[i] & ElcrSlaveWritableBits);
            }
            ApplyElcrLocked();
            changed = UpdateOutputLocked();
        }
        Raise(changed);
    }

    private bool IsElcrAccess(ulong offset, int width)
    {
        // Byte access to either register, or one 16-bit access covering both.
        if ((width == 1 && offset < Elcr.Size) || (width == 2 && offset == 0))
            return true;
        Interlocked.Increment(ref _droppedAccesses);
        return false;
    }

    private void ApplyElcrLocked()
    {
        _master.LevelTriggeredInputs = (byte)(_elcrMaster | CascadeInputBit);
        _slave.LevelTriggeredInputs = _elcrSlave;
    }

    /// <summary>Propagates the slave's INT to the master's IR2; returns the new INT level if it changed.</summary>
    private bool? UpdateOutputLocked()
    {
        _master.SetInput(CascadeIrq, _slave.Output);
        bool output = _master.Output;
        if (output == _output)
            return null;
        _output = output;
        return output;
    }

    private void Raise(bool? changed)
    {
        if (changed is bool level)
            OutputChanged?.Invoke(level);
    }
}
