using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's MachineConfiguration (PUT requires vcpu_count and mem_size_mib; PATCH takes any subset).</summary>
public sealed class MachineConfiguration
{
    public int? VcpuCount { get; set; }

    public long? MemSizeMib { get; set; }

    public bool? Smt { get; set; }

    public bool? TrackDirtyPages { get; set; }

    public string? HugePages { get; set; }

    public string? CpuTemplate { get; set; }

    /// <summary>Firecracker's gdb feature: the Unix socket Ember's GDB stub listens on; the vCPUs wait for a debugger.</summary>
    public string? GdbSocketPath { get; set; }

    [JsonIgnore]
    public bool HasRequiredFields => VcpuCount is not null && MemSizeMib is not null;
}
