using Ember.Devices.Bus;
using Ember.Devices.Legacy;
using Ember.Vmm.Acpi;
using Ember.Vmm.Devices;
using Ember.Vmm.Interrupts;

namespace Ember.Vmm.Machine;

/// <summary>
/// The legacy PC devices of an Ember microVM, created and registered with the device manager at the ports,
/// addresses and IRQs in <see cref="Layout"/> (COM1 with its DSDT entry). The devices raise events; the
/// machine decides what they mean.
/// </summary>
internal sealed class PlatformDevices
{
    /// <summary>POST-code port, written by firmware and by Linux's io_delay.</summary>
    private const ushort PostCodePort = 0x80;

    public PlatformDevices(MachineConfig config, IInterruptController interrupts, ISerialOutput console, DeviceManager devices, long startTimestamp)
    {
        var time = TimeProvider.System;
        // The interrupt controller's own inputs: the PIT's IRQ 0 and the slave 8259A's cascade on IRQ 2.
        devices.Add("interrupt-controller", interrupts);
        devices.ClaimGsi("interrupt-controller", Layout.PitIrq);
        devices.ClaimGsi("interrupt-controller", Layout.PicCascadeIrq);

        Serial = new Serial16550(console, interrupts.IsaLine(Layout.Com1Irq));
        devices.Add("com1", Serial, new SerialPortAml("COM1", 1, Layout.Com1Port, (byte)Layout.Com1PortCount, Layout.Com1Irq));
        devices.MapPio("com1", Layout.Com1Port, Serial16550.Length, Serial);
        devices.ClaimGsi("com1", Layout.Com1Irq);

        Keyboard = new I8042Controller(interrupts.IsaLine(Layout.I8042KeyboardIrq));
        devices.Add("i8042", Keyboard);
        devices.MapPio("i8042", Layout.I8042DataPort, 1, Keyboard.DataPort);
        devices.MapPio("i8042", Layout.I8042CommandPort, 1, Keyboard.StatusCommandPort);
        devices.ClaimGsi("i8042", Layout.I8042KeyboardIrq);

        Rtc = new CmosRtc(time);
        var ram = Layout.RamRegions(config.MemorySize);
        ulong below4G = ram.Where(r => r.Start.Value < Layout.FourGiB).Aggregate(0UL, (sum, r) => sum + r.Size);
        Rtc.SetMemorySize(below4G, config.MemorySize - below4G);
        devices.Add("rtc", Rtc);
        devices.MapPio("rtc", Layout.RtcPort, CmosRtc.Length, Rtc);
        devices.ClaimGsi("rtc", Layout.RtcIrq);

        PowerManagement = new AcpiPowerManagement();
        devices.Add("acpi-pm", PowerManagement);
        devices.MapPio("acpi-pm", Layout.Pm1EventBlock, AcpiPowerManagement.Length, PowerManagement);
        devices.ClaimGsi("acpi-pm", Layout.SciIrq);
        var pmTimer = new AcpiPmTimer(time);
        devices.Add("acpi-pm-timer", pmTimer);
        devices.MapPio("acpi-pm-timer", Layout.PmTimerBlock, AcpiPmTimer.Length, pmTimer);

        var postCode = new IgnoredPort();
        devices.Add("post-code", postCode);
        devices.MapPio("post-code", PostCodePort, 1, postCode);

        if (config.DebugExit)
        {
            DebugExit = new DebugExitDevice();
            devices.Add("debug-exit", DebugExit);
            devices.MapPio("debug-exit", Layout.DebugExitPort, DebugExitDevice.MaxAccessWidth, DebugExit);
        }

        // QEMU pc-testdev compatible test devices, so guests written for QEMU's harness run here; only on request.
        // The IRQ block drives every ISA line by design, so it claims none of them.
        if (config.TestDevices)
        {
            var scratch = new PcTestScratchRegister();
            devices.Add("pc-testdev", scratch);
            devices.MapPio("pc-testdev", Layout.TestDevicePort, PcTestScratchRegister.Length, scratch);
            var flushPage = new IgnoredPort();
            devices.Add("pc-testdev-flush-page", flushPage);
            devices.MapPio("pc-testdev-flush-page", Layout.TestDeviceFlushPagePort, 4, flushPage);
            var irqLines = new IsaIrqLineDevice(Enumerable.Range(0, IsaIrqLineDevice.LineCount).Select(interrupts.IsaLine).ToArray());
            devices.Add("pc-testdev-irq", irqLines);
            devices.MapPio("pc-testdev-irq", Layout.TestDeviceIrqPort, IsaIrqLineDevice.Length, irqLines);
            var buffer = new TestMmioBuffer();
            devices.Add("pc-testdev-mmio", buffer);
            devices.MapMmio("pc-testdev-mmio", Layout.TestDeviceMmio, Layout.TestDeviceMmioSize, buffer);
        }

        var fwCfg = new FwCfgDevice(config.MemorySize, (ushort)config.VcpuCount, (ushort)config.VcpuCount);
        devices.Add("fw-cfg", fwCfg);
        devices.MapPio("fw-cfg", Layout.FwCfgPort, FwCfgDevice.Length, fwCfg);

        if (config.BootTimer)
        {
            BootTimer = new BootTimerDevice(time, startTimestamp);
            devices.Add("boot-timer", BootTimer);
            devices.MapMmio("boot-timer", Layout.BootTimer, Layout.BootTimerSize, BootTimer);
        }
    }

    public Serial16550 Serial { get; }
    public I8042Controller Keyboard { get; }
    public CmosRtc Rtc { get; }
    public AcpiPowerManagement PowerManagement { get; }
    public DebugExitDevice? DebugExit { get; }
    public BootTimerDevice? BootTimer { get; }
}
