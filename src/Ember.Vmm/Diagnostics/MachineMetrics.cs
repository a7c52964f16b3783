using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Ember.Devices.Legacy;
using Ember.Kvm;
using Ember.Vmm.Machine;
using Ember.Vmm.Virtio;

namespace Ember.Vmm.Diagnostics;

/// <summary>
/// A machine's numbers, two ways from the same counters: instruments on a <see cref="Meter"/> named
/// <see cref="MeterName"/> (for dotnet-counters, OpenTelemetry or any MeterListener; every measurement carries
/// the machine's name as <c>ember.vm</c>), and a JSON object for Firecracker-style metrics lines. The
/// instruments are observable: nothing is counted twice, and the exit path only bumps its plain counters.
/// </summary>
public sealed class MachineMetrics : IDisposable
{
    /// <summary>The meter every Ember machine publishes on.</summary>
    public const string MeterName = "Ember.Vmm";

    private static int s_machines;

    private readonly Meter _meter;
    private readonly Func<IReadOnlyList<VcpuExitCounters>> _vcpus;
    private readonly VirtioPciDevices _virtio;
    private readonly RateLimitedSerialOutput? _serialLimiter;
    private readonly KeyValuePair<string, object?> _machineTag;

    internal MachineMetrics(string? name, Func<IReadOnlyList<VcpuExitCounters>> vcpus, VirtioPciDevices virtio, RateLimitedSerialOutput? serialLimiter = null)
    {
        _vcpus = vcpus;
        _virtio = virtio;
        _serialLimiter = serialLimiter;
        Name = name ?? $"vm-{Interlocked.Increment(ref s_machines)}";
        _machineTag = new("ember.vm", Name);
        _meter = new Meter(MeterName, typeof(MachineMetrics).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableCounter("ember.vcpu.exits", ObserveExits, unit: "{exit}", description: "vCPU exits to user space, by vCPU and reason");
        _meter.CreateObservableCounter("ember.vcpu.run_time", ObserveRunTime, unit: "s", description: "Time each vCPU spent inside KVM_RUN");
        _meter.CreateObservableCounter("ember.block.bytes", ObserveBlockBytes, unit: "By", description: "Bytes read and written by the guest, by drive");
        _meter.CreateObservableCounter("ember.block.requests", ObserveBlockRequests, unit: "{request}", description: "Disk requests answered OK, by drive and operation");
        _meter.CreateObservableCounter("ember.block.errors", ObserveBlockErrors, unit: "{request}", description: "Disk requests that failed in the backend or were malformed, by drive");
        _meter.CreateObservableCounter("ember.block.throttled", ObserveBlockThrottled, unit: "{refusal}", description: "Disk requests the rate limiter held back, by drive");
        _meter.CreateObservableCounter("ember.uart.rate_limiter_dropped_bytes", ObserveSerialDropped, unit: "By", description: "Bytes the guest wrote to COM1 that the serial rate limiter dropped");
        _meter.CreateObservableCounter("ember.interrupts.signalled", ObserveInterrupts, unit: "{interrupt}", description: "Interrupts the virtio devices raised, by device");
    }

    /// <summary>The machine's name on every measurement (<c>ember.vm</c>).</summary>
    public string Name { get; }

    /// <summary>Writes the numbers as the members of the current JSON object (a metrics line's body).</summary>
    public void WriteJson(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var vcpus = _vcpus();
        json.WriteStartObject("vcpu");
        foreach (var (reason, count) in Sum(vcpus))
            json.WriteNumber("exits_" + ReasonName(reason), count);
        json.WriteNumber("run_time_us", (long)vcpus.Sum(v => v.RunTime.TotalMicroseconds));
        json.WriteEndObject();
        json.WriteStartObject("block");
        foreach (var (id, disk) in _virtio.Disks)
        {
            json.WriteStartObject(id);
            json.WriteNumber("read_bytes", disk.ReadBytes);
            json.WriteNumber("write_bytes", disk.WrittenBytes);
            json.WriteNumber("read_count", disk.Reads);
            json.WriteNumber("write_count", disk.Writes);
            json.WriteNumber("flush_count", disk.Flushes);
            json.WriteNumber("discard_count", disk.Discards);
            json.WriteNumber("write_zeroes_count", disk.ZeroWrites);
            json.WriteNumber("backend_errors", disk.BackendErrors);
            json.WriteNumber("dropped_requests", disk.DroppedChains);
            json.WriteNumber("rate_limiter_throttled", disk.Limiter.ThrottledCount);
            json.WriteEndObject();
        }
        json.WriteEndObject();
        // Always present (0 without a limiter), so a line's shape does not depend on the configuration.
        json.WriteStartObject("uart");
        json.WriteNumber("rate_limiter_dropped_bytes", SerialDroppedBytes);
        json.WriteEndObject();
        json.WriteStartObject("interrupts");
        json.WriteNumber("virtio_signalled", _virtio.Functions.Sum(f => f.InterruptsSignalled));
        json.WriteEndObject();
    }

    /// <summary>Firecracker-ish names: exits_io, exits_mmio, exits_hlt, exits_ioapic_eoi, ...</summary>
    public static string ReasonName(VcpuExitReason reason) => reason switch
    {
        VcpuExitReason.IrqWindowOpen => "irq_window_open",
        VcpuExitReason.IoapicEoi => "ioapic_eoi",
        VcpuExitReason.SystemEvent => "system_event",
        VcpuExitReason.InternalError => "internal_error",
        VcpuExitReason.FailEntry => "fail_entry",
        VcpuExitReason.X86ReadMsr => "read_msr",
        VcpuExitReason.X86WriteMsr => "write_msr",
        _ => Enum.IsDefined(reason) ? reason.ToString().ToLowerInvariant() : ((uint)reason).ToString(CultureInfo.InvariantCulture),
    };

    private static IEnumerable<(VcpuExitReason Reason, long Count)> Sum(IReadOnlyList<VcpuExitCounters> vcpus)
    {
        // io and mmio always appear, so a line's shape does not depend on what the guest happened to do.
        var totals = new SortedDictionary<VcpuExitReason, long> { [VcpuExitReason.Io] = 0, [VcpuExitReason.Mmio] = 0 };
        foreach (var vcpu in vcpus)
        {
            foreach (var (reason, count) in vcpu.NonZero())
                totals[reason] = totals.GetValueOrDefault(reason) + count;
        }
        return totals.Select(t => (t.Key, t.Value));
    }

    private IEnumerable<Measurement<long>> ObserveExits()
    {
        var vcpus = _vcpus();
        for (int i = 0; i < vcpus.Count; i++)
        {
            foreach (var (reason, count) in vcpus[i].NonZero())
                yield return new Measurement<long>(count, _machineTag, new("ember.vcpu", i), new("reason", ReasonName(reason)));
        }
    }

    private IEnumerable<Measurement<double>> ObserveRunTime()
    {
        var vcpus = _vcpus();
        for (int i = 0; i < vcpus.Count; i++)
            yield return new Measurement<double>(vcpus[i].RunTime.TotalSeconds, _machineTag, new("ember.vcpu", i));
    }

    private IEnumerable<Measurement<long>> ObserveBlockBytes()
    {
        foreach (var (id, disk) in _virtio.Disks)
        {
            yield return new Measurement<long>(disk.ReadBytes, _machineTag, new("drive", id), new("direction", "read"));
            yield return new Measurement<long>(disk.WrittenBytes, _machineTag, new("drive", id), new("direction", "write"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBlockRequests()
    {
        foreach (var (id, disk) in _virtio.Disks)
        {
            yield return new Measurement<long>(disk.Reads, _machineTag, new("drive", id), new("operation", "read"));
            yield return new Measurement<long>(disk.Writes, _machineTag, new("drive", id), new("operation", "write"));
            yield return new Measurement<long>(disk.Flushes, _machineTag, new("drive", id), new("operation", "flush"));
            yield return new Measurement<long>(disk.Discards, _machineTag, new("drive", id), new("operation", "discard"));
            yield return new Measurement<long>(disk.ZeroWrites, _machineTag, new("drive", id), new("operation", "write_zeroes"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveBlockErrors() =>
        _virtio.Disks.Select(d => new Measurement<long>(d.Device.BackendErrors + d.Device.DroppedChains, _machineTag, new("drive", d.Id)));

    private IEnumerable<Measurement<long>> ObserveBlockThrottled() =>
        _virtio.Disks.Select(d => new Measurement<long>(d.Device.Limiter.ThrottledCount, _machineTag, new("drive", d.Id)));

    /// <summary>Bytes the guest wrote to COM1 that the serial rate limiter dropped (0 without a limiter).</summary>
    public long SerialDroppedBytes => _serialLimiter?.DroppedBytes ?? 0;

    private Measurement<long> ObserveSerialDropped() => new(SerialDroppedBytes, _machineTag);

    private IEnumerable<Measurement<long>> ObserveInterrupts() =>
        _virtio.Functions.Select((f, i) => new Measurement<long>(f.InterruptsSignalled, _machineTag, new("device", i)));

    public void Dispose() => _meter.Dispose();
}
