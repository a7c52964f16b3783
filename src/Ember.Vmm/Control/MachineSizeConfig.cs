namespace Ember.Vmm.Control;

/// <summary>vCPUs and memory (Firecracker's MachineConfiguration), with Firecracker's defaults: 1 vCPU, 128 MiB.</summary>
public sealed record MachineSizeConfig
{
    /// <summary>Firecracker's range for vcpu_count.</summary>
    public const int MaximumVcpus = 32;

    public int VcpuCount { get; init; } = 1;

    public long MemSizeMib { get; init; } = 128;

    public bool Smt { get; init; }

    public bool TrackDirtyPages { get; init; }

    /// <summary>None, Transparent or 2M.</summary>
    public string HugePages { get; init; } = "None";

    /// <summary>A named CPU template; Ember has none, so only null (no template) is accepted.</summary>
    public string? CpuTemplate { get; init; }

    /// <summary>
    /// Firecracker's gdb_socket_path: Ember's GDB stub listens on this Unix socket and, as Firecracker does, no vCPU
    /// runs until a debugger has connected and continued.
    /// </summary>
    public string? GdbSocketPath { get; init; }

    public void Validate()
    {
        if (VcpuCount is < 1 or > MaximumVcpus)
            throw new ResourceConfigException($"vcpu_count: {VcpuCount} is outside 1 to {MaximumVcpus}");
        if (Smt && VcpuCount != 1 && VcpuCount % 2 != 0)
            throw new ResourceConfigException($"vcpu_count: with smt it must be 1 or even, not {VcpuCount}");
        if (MemSizeMib < (long)(Machine.MachineConfig.MinimumMemory >> 20) || MemSizeMib > (long)(Machine.MachineConfig.MaximumMemory >> 20))
            throw new ResourceConfigException($"mem_size_mib: {MemSizeMib} is outside {Machine.MachineConfig.MinimumMemory >> 20} to {Machine.MachineConfig.MaximumMemory >> 20}");
        if (HugePages is not ("None" or "Transparent" or "2M"))
            throw new ResourceConfigException($"huge_pages: '{HugePages}' is not one of None, Transparent, 2M");
        if (HugePages != "None")
            throw new ResourceConfigException($"huge_pages: Ember backs guest memory with 4 KiB pages only; '{HugePages}' is not supported yet");
        if (TrackDirtyPages)
            throw new ResourceConfigException("track_dirty_pages: Ember has no snapshots yet, so it does not track dirty pages");
        if (GdbSocketPath is not null)
            ResourceFiles.RequireWritable("gdb_socket_path", "GDB socket", GdbSocketPath);
        if (CpuTemplate is not null and not "None")
            throw new ResourceConfigException($"cpu_template: Ember has no CPU templates; '{CpuTemplate}' is not supported");
    }
}
