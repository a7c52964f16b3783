using System.Text.Json.Serialization;

namespace Ember.Api.Dto;

/// <summary>Firecracker's BootSource.</summary>
public sealed class BootSource
{
    [JsonRequired]
    public string KernelImagePath { get; set; } = "";

    public string? BootArgs { get; set; }

    public string? InitrdPath { get; set; }
}
