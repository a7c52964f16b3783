using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's FullVmConfiguration (GET /vm/config), and the format of --config-file.</summary>
public sealed class FullVmConfiguration
{
    [JsonPropertyName("boot-source")]
    public BootSource? BootSource { get; set; }

    [JsonPropertyName("machine-config")]
    public MachineConfiguration? MachineConfig { get; set; }

    [JsonPropertyName("drives")]
    public List<Drive>? Drives { get; set; }

    [JsonPropertyName("network-interfaces")]
    public List<NetworkInterface>? NetworkInterfaces { get; set; }

    [JsonPropertyName("vsock")]
    public Vsock? Vsock { get; set; }

    [JsonPropertyName("entropy")]
    public EntropyDevice? Entropy { get; set; }

    [JsonPropertyName("logger")]
    public Logger? Logger { get; set; }

    [JsonPropertyName("metrics")]
    public Metrics? Metrics { get; set; }

    [JsonPropertyName("serial")]
    public SerialDevice? Serial { get; set; }

    [JsonPropertyName("balloon")]
    public System.Text.Json.JsonElement? Balloon { get; set; }

    [JsonPropertyName("mmds-config")]
    public System.Text.Json.JsonElement? MmdsConfig { get; set; }

    [JsonPropertyName("cpu-config")]
    public System.Text.Json.JsonElement? CpuConfig { get; set; }

    [JsonPropertyName("pmem")]
    public List<System.Text.Json.JsonElement>? Pmem { get; set; }

    [JsonPropertyName("memory-hotplug")]
    public System.Text.Json.JsonElement? MemoryHotplug { get; set; }
}
