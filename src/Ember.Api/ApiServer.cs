using Ember.Sys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ember.Api;

/// <summary>
/// The REST API's HTTP/1.1 server: Kestrel on a Unix socket (the slim, AOT-safe host), every request handed to
/// <see cref="FirecrackerApi"/> without routing machinery. A body over the payload limit is a 400, as in
/// Firecracker; each connection is served on its own, so one slow client cannot hold up another (only commands
/// to the one machine wait for each other, on the controller). A request that stops arriving half-way (headers
/// without their end, a body shorter than its Content-Length) holds only its own connection, and only for the
/// stalled-request timeout: then Kestrel answers 408 and closes it, so stalled clients cannot pile up.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    /// <summary>Firecracker's default for --http-api-max-payload-size.</summary>
    public const long DefaultMaxPayloadSize = 51200;

    /// <summary>
    /// How much of an oversized body is read and thrown away before the 400 goes out: a client still sending when the
    /// server closes would see a reset instead of the answer. Beyond this, the connection is simply closed.
    /// </summary>
    private const long OversizedBodyDrainLimit = 1 << 20;

    /// <summary>
    /// How long a request's headers may take to arrive, and how long its body may trickle in below Kestrel's
    /// minimum rate (240 bytes/s), before the request is answered 408 and its connection closed. Kestrel's own
    /// header timeout; its 5 s body grace is lengthened to match, as a local client has no reason to be slow,
    /// but a paused or debugged one should not lose its request at once.
    /// </summary>
    public static readonly TimeSpan DefaultStalledRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Kestrel's minimum body rate; only a body slower than this for the whole timeout is cut off.</summary>
    private const double MinimumBodyBytesPerSecond = 240;

    private readonly WebApplication _app;

    private ApiServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>
    /// Listens on <paramref name="socketPath"/> (a stale socket there is replaced; anything else is refused with
    /// <see cref="SystemCallException"/>) and serves <paramref name="api"/> until disposed.
    /// <paramref name="stalledRequestTimeout"/> (more than a second) defaults to <see cref="DefaultStalledRequestTimeout"/>.
    /// </summary>
    public static async Task<ApiServer> StartAsync(FirecrackerApi api, string socketPath, long maxPayloadSize = DefaultMaxPayloadSize, TimeSpan? stalledRequestTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadSize, 1);
        var stalled = stalledRequestTimeout ?? DefaultStalledRequestTimeout;
        // Kestrel checks its timeouts once a second, and refuses a body grace period of a second or less.
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stalled, TimeSpan.FromSeconds(1), nameof(stalledRequestTimeout));
        UnixListener.ClaimPath(socketPath);
        // The empty builder: no configuration sources (environment, appsettings files and their watchers), no
        // logging providers, no hosting startup; only Kestrel's core. All of it was start-up CPU before the socket.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ApplicationName = "ember" });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http1);
            // Kestrel's own cap is the backstop; the handler answers an oversized body with Firecracker's 400 first.
            kestrel.Limits.MaxRequestBodySize = maxPayloadSize + OversizedBodyDrainLimit;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxConcurrentConnections = 1024;
            kestrel.Limits.RequestHeadersTimeout = stalled;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(MinimumBodyBytesPerSecond, stalled);
        });
        var app = builder.Build();
        app.Run(context => ServeAsync(context, api, maxPayloadSize));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new SystemCallException("bind", Errno.EADDRINUSE, $"cannot listen on {socketPath}: {e.Message}");
        }
        return new ApiServer(app, socketPath);
    }

    private static async Task ServeAsync(HttpContext context, FirecrackerApi api, long maxPayloadSize)
    {
        var request = context.Request;
        ApiResponse response;
        byte[]? body = request.ContentLength > maxPayloadSize ? null : await ReadBodyAsync(request, maxPayloadSize, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            response = FirecrackerApi.Fault(TooLarge(request.ContentLength, maxPayloadSize));
            await DrainAsync(request, context.RequestAborted).ConfigureAwait(false);
            context.Response.Headers.Connection = "close";
        }
        else
        {
            response = await api.HandleAsync(request.Method, request.Path.Value ?? "/", body).ConfigureAwait(false);
        }
        context.Response.StatusCode = response.StatusCode;
        if (response.Body is { } bytes)
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string TooLarge(long? size, long limit) =>
        $"Request payload{(size is { } n ? $" with size {n}" : "")} is larger than the limit of {limit} allowed by server (--http-api-max-payload-size)";

    /// <summary>The whole body, or null when it is longer than the limit (read no further than limit + 1 bytes).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        try
        {
            while (true)
            {
                int read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    return buffer.ToArray();
                if (buffer.Length + read > limit)
                    return null;
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Any other BadHttpRequestException (a body that stopped arriving: 408) goes on to Kestrel, which
            // answers it with its own status; it is not a payload over the limit.
            return null;
        }
    }

    /// <summary>Reads the rest of an oversized body (up to Kestrel's cap) so the client gets to read the answer.</summary>
    private static async Task DrainAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var chunk = new byte[8192];
        try
        {
            while (await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is Microsoft.AspNetCore.Http.BadHttpRequestException or IOException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        // Kestrel leaves its socket file behind; remove it if it is still a socket.
        if (HostFile.Inspect(SocketPath).Kind == HostFileKind.Socket)
            File.Delete(SocketPath);
    }
}
