using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Ember.Api.Dto;
using Ember.Vmm.Control;
using Ember.Vmm.Machine;

namespace Ember.Api;

/// <summary>
/// Firecracker's REST API over a <see cref="VmController"/>, apart from HTTP: a method, a path and a body in, a
/// status and a body out. Handlers only turn bodies into commands (HTTP → DTO → command → VMM) and never touch
/// the machine. Every failure is a 400 with a fault_message, as Firecracker answers: an unknown path or method,
/// malformed JSON, an unknown field, a wrong type, a missing required field, a resource in the wrong state, and
/// the endpoints Ember does not serve yet.
/// </summary>
public sealed class FirecrackerApi(VmController controller)
{
    /// <summary>The Firecracker API version whose specification this follows (reported by GET /version).</summary>
    public const string FirecrackerApiVersion = "1.17.0";

    /// <summary>Ember's own version (reported by GET / as vmm_version).</summary>
    public static string EmberVersion { get; } =
        typeof(FirecrackerApi).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "0.0.0";

    private static readonly string[] ActionTypes = ["FlushMetrics", "InstanceStart", "SendCtrlAltDel", "SendNmi"];

    /// <summary>Endpoints of Firecracker's specification that Ember does not serve yet, and why.</summary>
    private static readonly (string Prefix, string What)[] NotServed =
    [
        ("/balloon", "the balloon device"),
        ("/mmds", "the microVM metadata service (MMDS)"),
        ("/snapshot", "snapshots"),
        ("/pmem", "virtio-pmem devices"),
        ("/hotplug", "memory hot-plug (virtio-mem)"),
    ];

    public async Task<ApiResponse> HandleAsync(string method, string path, ReadOnlyMemory<byte> body)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var response = await AnswerAsync(method, path, body).ConfigureAwait(false);
        ApiMetrics.Record(method, path, response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return response;
    }

    private async Task<ApiResponse> AnswerAsync(string method, string path, ReadOnlyMemory<byte> body)
    {
        try
        {
            return await DispatchAsync(method, path, body).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ApiRequestException or ResourceConfigException or VmStateException or VmCommandRefusedException or TimeoutException)
        {
            return Fault(e.Message);
        }
        catch (JsonException e)
        {
            return Fault(DescribeJsonError(e));
        }
    }

    private Task<ApiResponse> DispatchAsync(string method, string path, ReadOnlyMemory<byte> body)
    {
        string route = path.Length > 1 ? path.TrimEnd('/') : path;
        foreach (var (prefix, what) in NotServed)
        {
            if (route == prefix || route.StartsWith(prefix + "/", StringComparison.Ordinal))
                throw new ApiRequestException($"{method} {route}: {what} is not supported by Ember yet");
        }
        return (method, route) switch
        {
            ("GET", "/") => Json(new InstanceInfo { AppName = "Ember", Id = controller.InstanceId, State = FirecrackerState(controller.State), VmmVersion = EmberVersion }, ApiJsonContext.Output.InstanceInfo),
            ("GET", "/version") => Json(new FirecrackerVersion { Version = FirecrackerApiVersion }, ApiJsonContext.Output.FirecrackerVersion),
            ("GET", "/vm/state") => Json(new VmStateReport { State = controller.State.ToString() }, ApiJsonContext.Output.VmStateReport),
            ("GET", "/vm/config") => GetConfigurationAsync(),
            ("GET", "/machine-config") => GetMachineConfigAsync(),
            ("PUT", "/machine-config") => Done(controller.SetMachineSize(ResourceMapper.ToMachineSize(Parse(body, ApiJsonContext.Output.MachineConfiguration)))),
            ("PATCH", "/machine-config") => PatchMachineConfig(Parse(body, ApiJsonContext.Output.MachineConfiguration)),
            ("PUT", "/boot-source") => Done(controller.SetBootSource(ResourceMapper.ToBootSource(Parse(body, ApiJsonContext.Default.BootSource)))),
            ("PUT", "/vsock") => Done(controller.SetVsock(ResourceMapper.ToVsock(Parse(body, ApiJsonContext.Default.Vsock)))),
            ("PUT", "/entropy") => PutEntropy(Parse(body, ApiJsonContext.Default.EntropyDevice)),
            ("PUT", "/logger") => Done(controller.SetLogger(ResourceMapper.ToLogger(Parse(body, ApiJsonContext.Default.Logger)))),
            ("PUT", "/metrics") => Done(controller.SetMetrics(ResourceMapper.ToMetrics(Parse(body, ApiJsonContext.Default.Metrics)))),
            ("PUT", "/serial") => Done(controller.SetSerial(ResourceMapper.ToSerial(Parse(body, ApiJsonContext.Default.SerialDevice)))),
            ("PUT", "/actions") => ActAsync(Parse(body, ApiJsonContext.Default.InstanceActionInfo)),
            ("PATCH", "/vm") => ChangeStateAsync(Parse(body, ApiJsonContext.Default.VmStateChange)),
            ("PUT", "/cpu-config") => throw new ApiRequestException("PUT /cpu-config: Ember has no CPU templates or CPUID/MSR modifiers yet; its guests see the host's CPUID (ember run --cpuid-mask hides features)"),
            ("PUT", _) when IdUnder("/drives/", route) is { } id => PutDrive(id, Parse(body, ApiJsonContext.Default.Drive)),
            ("PATCH", _) when IdUnder("/drives/", route) is { } id => PatchDrive(id, Parse(body, ApiJsonContext.Default.PartialDrive)),
            ("PUT", _) when IdUnder("/network-interfaces/", route) is { } id => PutNetworkInterface(id, Parse(body, ApiJsonContext.Default.NetworkInterface)),
            ("PATCH", _) when IdUnder("/network-interfaces/", route) is { } id => PatchNetworkInterface(id, Parse(body, ApiJsonContext.Default.PartialNetworkInterface)),
            _ => throw new ApiRequestException($"Invalid request method and/or path: {method} {route}"),
        };
    }

    /// <summary>The id in /drives/{id} or /network-interfaces/{id} (<paramref name="prefix"/> ends with '/'), or null.</summary>
    private static string? IdUnder(string prefix, string route)
    {
        if (!route.StartsWith(prefix, StringComparison.Ordinal) || route.Length == prefix.Length)
            return null;
        string id = route[prefix.Length..];
        return id.Contains('/', StringComparison.Ordinal) ? null : Uri.UnescapeDataString(id);
    }

    /// <summary>GET / knows only Firecracker's three states; a stopped machine (whose process is about to exit) reads as Paused, and GET /vm/state tells the whole truth.</summary>
    private static string FirecrackerState(VmState state) => state switch
    {
        VmState.NotStarted => "Not started",
        VmState.Running => "Running",
        _ => "Paused",
    };

    private async Task<ApiResponse> GetConfigurationAsync() =>
        await Json(ResourceMapper.FromSnapshot(await controller.GetConfiguration().ConfigureAwait(false)), ApiJsonContext.Output.FullVmConfiguration).ConfigureAwait(false);

    private async Task<ApiResponse> GetMachineConfigAsync() =>
        await Json(ResourceMapper.FromMachineSize(await controller.GetMachineSize().ConfigureAwait(false)), ApiJsonContext.Output.MachineConfiguration).ConfigureAwait(false);

    private Task<ApiResponse> PatchMachineConfig(MachineConfiguration body)
    {
        return Done(controller.UpdateMachineSize(current => ResourceMapper.Apply(current, body)));
    }

    private Task<ApiResponse> PutEntropy(EntropyDevice body) =>
        Done(controller.SetEntropy(ResourceMapper.ToRateLimiter("rate_limiter", body.RateLimiter)));

    private Task<ApiResponse> PutDrive(string pathId, Drive body)
    {
        if (body.DriveId != pathId)
            throw new ApiRequestException($"drive_id: the body names '{body.DriveId}' but the path names '{pathId}'");
        return Done(controller.PutDrive(ResourceMapper.ToDrive(body)));
    }

    private Task<ApiResponse> PatchDrive(string pathId, PartialDrive body)
    {
        if (body.DriveId != pathId)
            throw new ApiRequestException($"drive_id: the body names '{body.DriveId}' but the path names '{pathId}'");
        return Done(controller.UpdateDrive(pathId, body.PathOnHost, ResourceMapper.ToRateLimiter("rate_limiter", body.RateLimiter)));
    }

    private Task<ApiResponse> PutNetworkInterface(string pathId, NetworkInterface body)
    {
        if (body.IfaceId != pathId)
            throw new ApiRequestException($"iface_id: the body names '{body.IfaceId}' but the path names '{pathId}'");
        return Done(controller.PutNetworkInterface(ResourceMapper.ToNetworkInterface(body)));
    }

    private Task<ApiResponse> PatchNetworkInterface(string pathId, PartialNetworkInterface body)
    {
        if (body.IfaceId != pathId)
            throw new ApiRequestException($"iface_id: the body names '{body.IfaceId}' but the path names '{pathId}'");
        return Done(controller.UpdateNetworkInterface(pathId, ResourceMapper.ToRateLimiter("rx_rate_limiter", body.RxRateLimiter), ResourceMapper.ToRateLimiter("tx_rate_limiter", body.TxRateLimiter)));
    }

    private async Task<ApiResponse> ActAsync(InstanceActionInfo body)
    {
        switch (body.ActionType)
        {
            case "InstanceStart":
                await controller.Start().ConfigureAwait(false);
                break;
            case "SendCtrlAltDel":
                await controller.SendCtrlAltDel().ConfigureAwait(false);
                break;
            case "FlushMetrics":
                await controller.FlushMetrics().ConfigureAwait(false);
                break;
            case "SendNmi":
                if (!await controller.SendNmi().ConfigureAwait(false))
                    throw new VmCommandRefusedException("SendNmi: no vCPU took the NMI (LINT1 is masked or not set to NMI delivery)");
                break;
            default:
                throw new ApiRequestException($"action_type: {Quoted(body.ActionType)} is not one of {string.Join(", ", ActionTypes)}");
        }
        return ApiResponse.NoContent;
    }

    private async Task<ApiResponse> ChangeStateAsync(VmStateChange body)
    {
        switch (body.State)
        {
            case "Paused":
                await controller.Pause().ConfigureAwait(false);
                break;
            case "Resumed":
                await controller.Resume().ConfigureAwait(false);
                break;
            default:
                throw new ApiRequestException($"state: {Quoted(body.State)} is not one of Paused, Resumed");
        }
        return ApiResponse.NoContent;
    }

    /// <summary>A value from the body as the fault message shows it: 'text', or null for a JSON null.</summary>
    private static string Quoted(string? value) => value is null ? "null" : $"'{value}'";

    private static async Task<ApiResponse> Done(Task command)
    {
        await command.ConfigureAwait(false);
        return ApiResponse.NoContent;
    }

    private static Task<ApiResponse> Json<T>(T value, JsonTypeInfo<T> type) =>
        Task.FromResult(new ApiResponse(200, JsonSerializer.SerializeToUtf8Bytes(value, type)));

    internal static T Parse<T>(ReadOnlyMemory<byte> body, JsonTypeInfo<T> type)
    {
        if (body.IsEmpty)
            throw new ApiRequestException("the request needs a JSON body");
        CheckSyntax(body.Span);
        return JsonSerializer.Deserialize(body.Span, type) ?? throw new ApiRequestException("the request body is null; it must be a JSON object");
    }

    /// <summary>Well-formed JSON whose top level is an object, or an ApiRequestException saying where it breaks.</summary>
    private static void CheckSyntax(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new ApiRequestException("invalid request body: it must be a JSON object");
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            throw new ApiRequestException($"invalid request body: malformed JSON at line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}");
        }
    }

    internal static ApiResponse Fault(string message) =>
        new(400, JsonSerializer.SerializeToUtf8Bytes(new ApiError { FaultMessage = message }, ApiJsonContext.Output.ApiError));

    /// <summary>
    /// What was wrong with a body, in our words: System.Text.Json's messages name .NET types, and under Native AOT
    /// with UseSystemResourceKeys they are bare resource keys. Both forms are recognised by their key or wording.
    /// </summary>
    internal static string DescribeJsonError(JsonException e)
    {
        string message = e.Message;
        string field = FieldOf(e.Path);
        if (message.Contains("UnmappedJsonProperty", StringComparison.Ordinal) || message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            // Only the serial console's rate_limiter is a bare TokenBucket (elsewhere bandwidth and ops are fields),
            // so a RateLimiter written there is the one way to get here with these names.
            if (field is "bandwidth" or "ops" && e.Path is { } path && path.EndsWith($"rate_limiter.{field}", StringComparison.Ordinal))
                return $"invalid request body: rate_limiter.{field}: the serial console's rate_limiter is one token bucket of bytes (size, refill_time, one_time_burst), without bandwidth or ops";
            return $"invalid request body: unknown field '{field}'";
        }
        if (message.Contains("JsonRequiredPropertiesMissing", StringComparison.Ordinal) || message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var names = System.Text.RegularExpressions.Regex.Matches(message, "'([a-z_]+)'").Select(m => m.Groups[1].Value).Distinct();
            return $"invalid request body: missing required field {string.Join(", ", names.Select(n => $"'{n}'"))}";
        }
        if (string.IsNullOrEmpty(e.Path) || e.Path == "$")
            return "invalid request body: it must be a JSON object";
        if (message.Contains("DeserializeUnableToConvertValue", StringComparison.Ordinal) || message.Contains("could not be converted", StringComparison.Ordinal))
            return $"invalid request body: field '{field}' has the wrong type";
        return $"invalid request body: malformed JSON at line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}";
    }

    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
            return "(the body)";
        // $.a.b, $['a'], $.drives[0] -> the last name.
        string last = path.Split('.').Last();
        int bracket = last.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0)
            last = last[..bracket];
        return last.Trim('$', '[', ']', '\'', '"');
    }
}
