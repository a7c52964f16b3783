namespace Ember.Api;

/// <summary>What a request comes to: a status and, for 200 and 400, a JSON body.</summary>
public sealed record ApiResponse(int StatusCode, byte[]? Body = null)
{
    public static readonly ApiResponse NoContent = new(204);
}
