using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Ember.Vmm.Interrupts;

namespace Ember.Vmm.Machine;

/// <summary>
/// The legacy PC devices of an Ember microVM, created and placed on the buses at the addresses
/// in <see cref="Layout"/>. The devices raise events; the machine decides what they mean.
/// </summary>
internal sealed class PlatformDevices
{
    /// <summary>POST-code port, written by firmware and by Linux's io_delay.</summary>
    private const ushort PostCodePort = 0x80;

    public PlatformDevices(MachineConfig config, IInterruptController interrupts, ISerialOutput console, DeviceBus pio, DeviceBus mmio, long startTimestamp)
    {
        var time = TimeProvider.System;
        Serial = new Serial16550(console, interrupts.IsaLine(Layout.Com1Irq));
        pio.Register(Layout.Com1Port, Serial16550.Length, Serial);

        Keyboard = new I8042Controller(interrupts.IsaLine(Layout.I8042KeyboardIrq));
        pio.Register(Layout.I8042DataPort, 1, Keyboard.DataPort);
        pio.Register(Layout.I8042CommandPort, 1, Keyboard.StatusCommandPort);

        Rtc = new CmosRtc(time);
        var ram = Layout.RamRegions(config.MemorySize);
        ulong below4G = ram.Where(r => r.Start.Value < Layout.FourGiB).Aggregate(0UL, (sum, r) => sum + r.Size);
        Rtc.SetMemorySize(below4G, config.MemorySize - below4G);
        pio.Register(Layout.RtcPort, CmosRtc.Length, Rtc);

        PowerManagement = new AcpiPowerManagement();
        pio.Register(Layout.Pm1EventBlock, AcpiPowerManagement.Length, PowerManagement);
        pio.Register(Layout.PmTimerBlock, AcpiPmTimer.Length, new AcpiPmTimer(time));

        pio.Register(PostCodePort, 1, new IgnoredPort());

        if (config.DebugExit)
        {
            DebugExit = new DebugExitDevice();
            pio.Register(Layout.DebugExitPort, DebugExitDevice.MaxAccessWidth, DebugExit);
        }

        // QEMU pc-testdev compatible test devices, so guests written for QEMU's harness run here; only on request.
        if (config.TestDevices)
        {
            pio.Register(Layout.TestDevicePort, PcTestScratchRegister.Length, new PcTestScratchRegister());
            pio.Register(Layout.TestDeviceFlushPagePort, 4, new IgnoredPort());
            pio.Register(Layout.TestDeviceIrqPort, IsaIrqLineDevice.Length,
                new IsaIrqLineDevice(Enumerable.Range(0, IsaIrqLineDevice.LineCount).Select(interrupts.IsaLine).ToArray()));
            mmio.Register(Layout.TestDeviceMmio, Layout.TestDeviceMmioSize, new TestMmioBuffer());
        }

        pio.Register(Layout.FwCfgPort, FwCfgDevice.Length,
            new FwCfgDevice(config.MemorySize, (ushort)config.VcpuCount, (ushort)config.VcpuCount));

        if (config.BootTimer)
        {
            BootTimer = new BootTimerDevice(time, startTimestamp);
            mmio.Register(Layout.BootTimer, Layout.BootTimerSize, BootTimer);
        }
    }

    public Serial16550 Serial { get; }
    public I8042Controller Keyboard { get; }
    public CmosRtc Rtc { get; }
    public AcpiPowerManagement PowerManagement { get; }
    public DebugExitDevice? DebugExit { get; }
    public BootTimerDevice? BootTimer { get; }
}
