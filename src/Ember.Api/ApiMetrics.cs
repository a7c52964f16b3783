using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ember.Api;

/// <summary>
/// The API's requests on the <see cref="MeterName"/> meter: a counter and a duration histogram, tagged with the
/// method, the route (ids folded into <c>{id}</c>, so the tags stay few whatever clients send) and the status.
/// </summary>
internal static class ApiMetrics
{
    public const string MeterName = "Ember.Api";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("ember.api.requests", "{request}", "API requests answered, by method, route and status");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("ember.api.request.duration", "s", "Time from a request's body to its answer");

    private static readonly string[] Routes =
    [
        "/", "/version", "/machine-config", "/boot-source", "/drives", "/network-interfaces", "/vsock", "/entropy",
        "/actions", "/vm", "/vm/config", "/vm/state", "/logger", "/metrics", "/serial", "/cpu-config",
    ];

    public static void Record(string method, string path, int status, TimeSpan elapsed)
    {
        var tags = new TagList
        {
            { "http.request.method", method is "GET" or "PUT" or "PATCH" ? method : "other" },
            { "http.route", RouteOf(path) },
            { "http.response.status_code", status },
        };
        Requests.Add(1, tags);
        Duration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>The route a path belongs to: a known one, that with <c>/{id}</c>, or "other".</summary>
    public static string RouteOf(string path)
    {
        string route = path.Length > 1 ? path.TrimEnd('/') : path;
        foreach (string known in Routes)
        {
            if (route == known)
                return known;
            if (known is "/drives" or "/network-interfaces" && route.StartsWith(known + "/", StringComparison.Ordinal) && route.IndexOf('/', known.Length + 1) < 0)
                return known + "/{id}";
        }
        return "other";
    }
}
