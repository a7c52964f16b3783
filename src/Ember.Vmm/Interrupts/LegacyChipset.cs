using Ember.Devices.Bus;
using Ember.Devices.Interrupts;
using Ember.Devices.Timers;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// The PC's legacy interrupt and timer chips in user space, shared by the split and user-space modes:
/// the 8259A pair with its ELCR, the 8254 PIT driven by a host timer, and port 0x61 for counter 2's gate.
/// </summary>
internal sealed class LegacyChipset : IDisposable
{
    /// <summary>Each 8259A decodes two ports (A0 = 0 command, A0 = 1 data).</summary>
    private const ulong PicPortCount = 2;

    public LegacyChipset(DualPic pic, IInterruptLine irq0, EventLoop timers)
    {
        Pic = pic;
        TimedPit = new TimedPit(new Pit8254(irq0), timers);
        SpeakerGate = new PcSpeakerGate(TimedPit.Pit);
    }

    public DualPic Pic { get; }

    public TimedPit TimedPit { get; }

    public PcSpeakerGate SpeakerGate { get; }

    public void Register(DeviceBus pio)
    {
        pio.Register(Layout.PicMasterPort, PicPortCount, Pic.MasterPorts);
        pio.Register(Layout.PicSlavePort, PicPortCount, Pic.SlavePorts);
        pio.Register(Layout.ElcrPort, Elcr.Size, Pic.Elcr);
        pio.Register(Layout.PitPort, Pit8254.Size, TimedPit);
        pio.Register(Layout.SystemControlPortB, PcSpeakerGate.Size, SpeakerGate);
    }

    public void Start() => TimedPit.Start();

    public void Dispose() => TimedPit.Dispose();
}
