using System.Diagnostics.Metrics;

namespace Ember.Api.Tests;

/// <summary>Requests counted on the Ember.Api meter, as a MeterListener (dotnet-counters, OpenTelemetry) sees them, with few distinct routes.</summary>
public sealed class ApiMetricsTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/machine-config/", "/machine-config")]
    [InlineData("/drives/rootfs", "/drives/{id}")]
    [InlineData("/network-interfaces/eth0", "/network-interfaces/{id}")]
    [InlineData("/drives/a/b", "other")]
    [InlineData("/no-such-thing-123", "other")]
    public void RoutesFoldIdsSoTagsStayFew(string path, string route) => Assert.Equal(route, ApiMetrics.RouteOf(path));

    [Fact]
    public async Task EachRequestIsCountedWithItsRouteAndStatus()
    {
        await using var api = await ApiFixture.StartAsync();
        long versions = 0, refusedDrives = 0;
        var seen = new Lock();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ApiMetrics.MeterName && instrument.Name == "ember.api.requests")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? route = null;
            int status = 0;
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route")
                    route = (string?)tag.Value;
                else if (tag.Key == "http.response.status_code")
                    status = (int)tag.Value!;
            }
            lock (seen)
            {
                if (route == "/version" && status == 200)
                    versions += value;
                if (route == "/drives/{id}" && status == 400)
                    refusedDrives += value;
            }
        });
        listener.Start();

        for (int i = 0; i < 3; i++)
            Assert.Equal(200, (await api.Client.GetAsync("/version")).Status);
        Assert.Equal(400, (await api.Client.PutAsync("/drives/x", "{}")).Status);
        Assert.Equal(400, (await api.Client.PutAsync("/drives/y", "not json")).Status);

        // Other tests of this assembly may send requests at the same time: at least ours are counted.
        lock (seen)
        {
            Assert.True(versions >= 3, $"{versions} GET /version counted");
            Assert.True(refusedDrives >= 2, $"{refusedDrives} refused drive PUTs counted");
        }
    }
}
