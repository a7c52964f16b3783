using System.Text.Json.Serialization;
using Ember.Api.Dto;

namespace Ember.Api;

/// <summary>
/// Source-generated JSON for every body the API reads or writes (no reflection, so Native AOT keeps it). Like
/// Firecracker, an unknown field is an error, and names are snake_case.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    MaxDepth = 16)]
[JsonSerializable(typeof(BootSource))]
[JsonSerializable(typeof(MachineConfiguration))]
[JsonSerializable(typeof(Drive))]
[JsonSerializable(typeof(PartialDrive))]
[JsonSerializable(typeof(NetworkInterface))]
[JsonSerializable(typeof(PartialNetworkInterface))]
[JsonSerializable(typeof(InstanceActionInfo))]
[JsonSerializable(typeof(VmStateChange))]
[JsonSerializable(typeof(Logger))]
[JsonSerializable(typeof(Metrics))]
[JsonSerializable(typeof(SerialDevice))]
[JsonSerializable(typeof(EntropyDevice))]
[JsonSerializable(typeof(Vsock))]
[JsonSerializable(typeof(InstanceInfo))]
[JsonSerializable(typeof(FirecrackerVersion))]
[JsonSerializable(typeof(VmStateReport))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(FullVmConfiguration))]
internal sealed partial class ApiJsonContext : JsonSerializerContext
{
    /// <summary>
    /// For what Ember writes: only what JSON requires is escaped (a fault message's apostrophes stay readable
    /// to curl and to humans); the bodies are application/json, never embedded in HTML.
    /// </summary>
    public static ApiJsonContext Output => LazyInitializer.EnsureInitialized(ref s_output, () => new(new System.Text.Json.JsonSerializerOptions(Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    }));

    // Not a static initialiser: the generated Default lives in another part of this class, initialised in no fixed order.
    private static ApiJsonContext? s_output;
}
