namespace Ember.Api.Dto;

/// <summary>Firecracker's Error: the body of every 400.</summary>
public sealed class ApiError
{
    public string FaultMessage { get; set; } = "";
}
