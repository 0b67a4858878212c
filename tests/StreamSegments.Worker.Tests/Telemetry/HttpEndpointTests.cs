using System.Globalization;
using System.Net;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Run;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Telemetry;

/// <summary>The worker process's HTTP listener, as a probe and a Prometheus server see it.</summary>
public sealed class HttpEndpointTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);
    private readonly string state = Path.Combine(Path.GetTempPath(), $"ss-http-{Guid.NewGuid():N}");

    [Fact]
    public async Task The_worker_answers_its_probes_and_serves_its_counts_to_prometheus()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Fixture("scenario-small"), "events.jsonl"));
        scenario.Produce(lines, DateTimeOffset.UtcNow.AddDays(-30));
        var port = LoopbackPort.Free();
        using var worker = WorkerProcess.Start(scenario, "http", state, ["--http-port", port.ToString(CultureInfo.InvariantCulture)]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };

        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (await StatusOf(http, "/health/ready") != HttpStatusCode.OK)
        {
            Assert.False(worker.HasExited, $"the worker exited:\n{worker.Log}");
            Assert.True(DateTime.UtcNow < deadline, $"the worker never became ready:\n{worker.Log}");
            await Task.Delay(250);
        }

        Assert.Equal(HttpStatusCode.OK, await StatusOf(http, "/health/live"));
        worker.WaitUntilCommitted(scenario, lines.Length);

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(lines.Length, Sum(metrics, "messaging_client_consumed_messages_total"));
        Assert.Equal(3, Series(metrics, "streamsegments_state_buyers").Count());
        Assert.Contains(Series(metrics, "target_info"), line => line.Contains("service_name=\"streamsegments\"", StringComparison.Ordinal));

        // Ready and going round: what the not-ready and stalled-loop alerts watch.
        Assert.Equal(1, Sum(metrics, "streamsegments_ready"));
        Assert.InRange(Sum(metrics, "streamsegments_loop_heartbeat_age_seconds"), 0, 30);

        // Exported at 0 before any abort, so that the alert's increase() counts the first one.
        Assert.Single(Series(metrics, "streamsegments_commit_aborts_total"));
        Assert.Equal(0, Sum(metrics, "streamsegments_commit_aborts_total"));
        Assert.Equal(0, worker.Stop());
    }

    public void Dispose()
    {
        scenario.Dispose();
        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<HttpStatusCode?> StatusOf(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    private static IEnumerable<string> Series(string exposition, string name) =>
        exposition.Split('\n').Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal));

    private static double Sum(string exposition, string name) =>
        Series(exposition, name).Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
