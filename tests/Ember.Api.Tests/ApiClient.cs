using System.Net.Sockets;
using System.Text;

namespace Ember.Api.Tests;

/// <summary>A real HttpClient that reaches the API through its Unix socket, as curl --unix-socket does.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task<(int Status, string Body)> SendAsync(string method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public Task<(int Status, string Body)> GetAsync(string path) => SendAsync("GET", path);

    public Task<(int Status, string Body)> PutAsync(string path, string json) => SendAsync("PUT", path, json);

    public Task<(int Status, string Body)> PatchAsync(string path, string json) => SendAsync("PATCH", path, json);

    public void Dispose() => _http.Dispose();
}
