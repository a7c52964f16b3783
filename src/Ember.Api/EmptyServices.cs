namespace Ember.Api;

/// <summary>
/// The services Kestrel may look up on its own (HTTPS configuration, diagnostics): none. Kestrel treats a missing
/// service as "not configured", which is what an HTTP/1.1 server on a local Unix socket is.
/// </summary>
internal sealed class EmptyServices : IServiceProvider
{
    public static readonly EmptyServices Instance = new();

    private EmptyServices()
    {
    }

    public object? GetService(Type serviceType) => null;
}
