using Ember.Kvm;
using Ember.Memory;
using Ember.Sys;
using Ember.Vmm.Cpu;
using Ember.Vmm.Debugging;
using Ember.Vmm.Devices;
using Ember.Vmm.Diagnostics;
using Ember.Vmm.Interrupts;
using Ember.Vmm.Virtio;

namespace Ember.Vmm.Machine;

/// <summary>
/// What <see cref="MachineBuilder"/> made of a configuration: the KVM VM, guest memory, the interrupt controller,
/// the devices, the vCPUs with their runners, and the GDB stub. The builder fills it step by step, so a failed
/// build disposes exactly what exists; <see cref="Dispose"/> holds the one order in which it all goes away.
/// </summary>
internal sealed class MachineParts : IDisposable
{
    public KvmSystem Kvm { get; set; } = null!;

    public VirtualMachine Vm { get; set; } = null!;

    public MmapGuestMemory Memory { get; set; } = null!;

    /// <summary>One thread serves every host timer of the machine (PIT, PIC kicks, IOAPIC storm retries) through timerfds.</summary>
    public EventLoop Timers { get; } = new();

    public IInterruptController Interrupts { get; set; } = null!;

    public DeviceManager Devices { get; set; } = null!;

    public PlatformDevices Platform { get; set; } = null!;

    /// <summary>The serial rate limiter between COM1 and the console, or null when output is not limited.</summary>
    public Ember.Devices.Legacy.RateLimitedSerialOutput? SerialLimiter { get; set; }

    public VirtioPciDevices Virtio { get; set; } = null!;

    public MachineMetrics Metrics { get; set; } = null!;

    public GuestTriggeredLogs GuestLogs { get; set; } = null!;

    public EmulatorGapCover? EmulatorGaps { get; set; }

    public VcpuPauseGate PauseGate { get; set; } = null!;

    public List<VirtualCpu> Vcpus { get; } = [];

    public List<VcpuRunner> Runners { get; } = [];

    public List<VcpuMemoryView> VcpuMemory { get; } = [];

    /// <summary>Eventfds KVM absorbs writes into (<see cref="MachineBuilder"/>'s in-kernel sinks).</summary>
    public List<EventFd> IoEvents { get; } = [];

    public GdbServer? Gdb { get; set; }

    /// <summary>Releases everything; the vCPU threads must have ended (or never started).</summary>
    public void Dispose()
    {
        // The GDB stub runs work on vCPU threads; it goes once they have ended, before the vCPUs do.
        Gdb?.Dispose();
        // The timer loop first, then the interrupt controller: timers kick vCPUs and must stop before their run pages go.
        Timers.Dispose();
        Metrics?.Dispose();
        Virtio?.Dispose();
        // What the rate limits held back of the guest's lines, now that the vCPUs and device I/O have stopped.
        GuestLogs?.Flush();
        Interrupts?.Dispose();
        foreach (var vcpu in Vcpus)
            vcpu.Dispose();
        Vm?.Dispose();
        foreach (var ioEvent in IoEvents)
            ioEvent.Dispose();
        Kvm?.Dispose();
        Memory?.Dispose();
    }
}
