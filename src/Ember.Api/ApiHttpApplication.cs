using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ember.Api;

/// <summary>
/// What Kestrel runs for each request: an <see cref="HttpContext"/> over the connection's features, handed to one
/// delegate. This is the whole of what ASP.NET Core's hosting layer would add here; without that layer (its
/// dependency-injection container, options and hosted services) the API socket listens in a fraction of the
/// start-up CPU, which is what an orchestrator starting many VMMs pays for.
/// </summary>
internal sealed class ApiHttpApplication(RequestDelegate handler) : IHttpApplication<HttpContext>
{
    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    public Task ProcessRequestAsync(HttpContext context) => handler(context);

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }
}
