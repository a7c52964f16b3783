using Microsoft.Extensions.Hosting;

namespace Ember.Api;

/// <summary>
/// The API server's host lives exactly as long as Ember says: no console lifetime that takes over SIGTERM and
/// Ctrl-C (Ember handles signals itself and stops the machine first).
/// </summary>
internal sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
