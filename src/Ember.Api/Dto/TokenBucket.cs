using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's TokenBucket: size tokens refilled every refill_time ms, plus a one-time burst.</summary>
public sealed class TokenBucket
{
    [JsonRequired]
    public long Size { get; set; }

    public long? OneTimeBurst { get; set; }

    [JsonRequired]
    public long RefillTime { get; set; }
}
