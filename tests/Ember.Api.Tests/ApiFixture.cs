using Ember.Vmm.Control;
using Ember.Vmm.Machine;

namespace Ember.Api.Tests;

/// <summary>A controller, the API server on a Unix socket in a fresh directory, and a client; everything real.</summary>
public sealed class ApiFixture : IAsyncDisposable
{
    private ApiFixture(DirectoryInfo directory, VmController controller, ApiServer server)
    {
        Directory = directory;
        Controller = controller;
        Server = server;
        Client = new ApiClient(server.SocketPath);
    }

    public DirectoryInfo Directory { get; }

    public VmController Controller { get; }

    public ApiServer Server { get; }

    public ApiClient Client { get; }

    public string PathOf(string name) => System.IO.Path.Combine(Directory.FullName, name);

    public static async Task<ApiFixture> StartAsync(long maxPayload = ApiServer.DefaultMaxPayloadSize, Func<MachineConfig, MachineConfig>? adjust = null, TimeSpan? stalledRequestTimeout = null, string instanceId = "api-test")
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("ember-api-");
        var controller = new VmController(new VmControllerOptions { InstanceId = instanceId, AdjustMachine = adjust });
        try
        {
            var server = await ApiServer.StartAsync(new FirecrackerApi(controller), System.IO.Path.Combine(directory.FullName, "api.sock"), maxPayload, stalledRequestTimeout, TestContext.Current.CancellationToken);
            return new ApiFixture(directory, controller, server);
        }
        catch
        {
            controller.Dispose();
            directory.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>A file with some bytes, for paths that must exist.</summary>
    public string WriteFile(string name, int size)
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, new byte[size]);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        Controller.Dispose();
        Directory.Delete(recursive: true);
    }
}
