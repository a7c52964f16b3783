using Ember.Sys;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ember.Api;

/// <summary>
/// The REST API's HTTP/1.1 server: Kestrel on a Unix socket (on its own, no generic host), every request handed to
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

    private readonly KestrelServer _server;

    private ApiServer(KestrelServer server, string socketPath)
    {
        _server = server;
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
        // Kestrel on its own, without the generic host: no container to resolve services through, no configuration
        // sources, logging providers or hosted services. Building that host was most of the start-up CPU before the
        // socket listened (its container resolves open generics through reflection at run time in a Native AOT build).
        var kestrel = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = EmptyServices.Instance,
        };
        kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http1);
        // Kestrel's own cap is the backstop; the handler answers an oversized body with Firecracker's 400 first.
        kestrel.Limits.MaxRequestBodySize = maxPayloadSize + OversizedBodyDrainLimit;
        kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        kestrel.Limits.MaxConcurrentConnections = 1024;
        kestrel.Limits.RequestHeadersTimeout = stalled;
        kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(MinimumBodyBytesPerSecond, stalled);
        var logs = NullLoggerFactory.Instance;
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), logs);
        var server = new KestrelServer(Options.Create(kestrel), transport, logs);
        try
        {
            await server.StartAsync(new ApiHttpApplication(context => ServeAsync(context, api, maxPayloadSize)), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            server.Dispose();
            throw new SystemCallException("bind", Errno.EADDRINUSE, $"cannot listen on {socketPath}: {e.Message}");
        }
        return new ApiServer(server, socketPath);
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
        await _server.StopAsync(CancellationToken.None).ConfigureAwait(false);
        _server.Dispose();
        // Kestrel leaves its socket file behind; remove it if it is still a socket.
        if (HostFile.Inspect(SocketPath).Kind == HostFileKind.Socket)
            File.Delete(SocketPath);
    }
}
