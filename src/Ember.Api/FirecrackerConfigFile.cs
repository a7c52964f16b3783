using System.Text.Json;
using Ember.Api.Dto;

namespace Ember.Api;

/// <summary>
/// Firecracker's --config-file: one JSON object with a section per resource (boot-source, machine-config, drives,
/// …). Each section goes through the same handler as the matching API request, so a file and a sequence of
/// requests mean the same; then the machine starts, as Firecracker does.
/// </summary>
public static class FirecrackerConfigFile
{
    /// <summary>Applies the file and starts the machine; returns null, or the first problem as one line.</summary>
    public static async Task<string?> ApplyAndStartAsync(FirecrackerApi api, ReadOnlyMemory<byte> json)
    {
        FullVmConfiguration file;
        try
        {
            file = FirecrackerApi.Parse(json, ApiJsonContext.Default.FullVmConfiguration);
        }
        catch (JsonException e)
        {
            return FirecrackerApi.DescribeJsonError(e).Replace("invalid request body", "invalid configuration file", StringComparison.Ordinal);
        }
        catch (ApiRequestException e)
        {
            return $"invalid configuration file: {e.Message}";
        }
        foreach (var (present, name) in new[] { (file.Balloon.HasValue, "balloon"), (file.MmdsConfig.HasValue, "mmds-config"), (file.CpuConfig.HasValue, "cpu-config"), (file.Pmem is { Count: > 0 }, "pmem"), (file.MemoryHotplug.HasValue, "memory-hotplug") })
        {
            if (present)
                return $"{name}: this section is not supported by Ember yet";
        }
        var requests = new List<(string Method, string Path, byte[] Body)>();
        if (file.Logger is { } logger)
            requests.Add(("PUT", "/logger", JsonSerializer.SerializeToUtf8Bytes(logger, ApiJsonContext.Default.Logger)));
        if (file.Metrics is { } metrics)
            requests.Add(("PUT", "/metrics", JsonSerializer.SerializeToUtf8Bytes(metrics, ApiJsonContext.Default.Metrics)));
        if (file.MachineConfig is { } machine)
            requests.Add(("PUT", "/machine-config", JsonSerializer.SerializeToUtf8Bytes(machine, ApiJsonContext.Default.MachineConfiguration)));
        if (file.BootSource is { } boot)
            requests.Add(("PUT", "/boot-source", JsonSerializer.SerializeToUtf8Bytes(boot, ApiJsonContext.Default.BootSource)));
        foreach (var drive in file.Drives ?? [])
            requests.Add(("PUT", $"/drives/{Uri.EscapeDataString(drive.DriveId)}", JsonSerializer.SerializeToUtf8Bytes(drive, ApiJsonContext.Default.Drive)));
        foreach (var network in file.NetworkInterfaces ?? [])
            requests.Add(("PUT", $"/network-interfaces/{Uri.EscapeDataString(network.IfaceId)}", JsonSerializer.SerializeToUtf8Bytes(network, ApiJsonContext.Default.NetworkInterface)));
        if (file.Vsock is { } vsock)
            requests.Add(("PUT", "/vsock", JsonSerializer.SerializeToUtf8Bytes(vsock, ApiJsonContext.Default.Vsock)));
        if (file.Entropy is { } entropy)
            requests.Add(("PUT", "/entropy", JsonSerializer.SerializeToUtf8Bytes(entropy, ApiJsonContext.Default.EntropyDevice)));
        if (file.Serial is { } serial)
            requests.Add(("PUT", "/serial", JsonSerializer.SerializeToUtf8Bytes(serial, ApiJsonContext.Default.SerialDevice)));
        requests.Add(("PUT", "/actions", """{"action_type":"InstanceStart"}"""u8.ToArray()));
        foreach (var (method, path, body) in requests)
        {
            var response = await api.HandleAsync(method, path, body).ConfigureAwait(false);
            if (response.StatusCode >= 400)
            {
                string fault = JsonSerializer.Deserialize(response.Body, ApiJsonContext.Default.ApiError)?.FaultMessage ?? "refused";
                string section = path == "/actions" ? "starting the machine" : path.TrimStart('/').Split('/')[0];
                return $"{section}: {fault}";
            }
        }
        return null;
    }
}
