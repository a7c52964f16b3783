namespace Ember.Api;

/// <summary>A request that is wrong as a request (path, method, body): answered 400 with this message.</summary>
internal sealed class ApiRequestException(string message) : Exception(message);
