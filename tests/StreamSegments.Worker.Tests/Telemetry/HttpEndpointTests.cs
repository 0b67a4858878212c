using System.Globalization;
using System.Net;
using System.Text;
using Confluent.Kafka;
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
        using var worker = WorkerProcess.Start(
            scenario, "http", state, ["--http-port", port.ToString(CultureInfo.InvariantCulture), "--Telemetry:LivenessTimeoutSeconds", "5",

                // The group must keep the instance through a slow broker (below), or it loses its tasks instead of hanging.
                "--Kafka:Client:session.timeout.ms", "45000"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };

        await WaitForStatus(http, worker, "/health/ready", HttpStatusCode.OK);
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

        // A loop stuck in a call fails readiness as well as liveness, and both come back when it goes round again.
        // Every broker answer takes 8 s (under the clients' 10 s for a new connection's first request): a new record
        // reaches the worker, and its commit blocks the loop for several of them.
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build();
        Resend(producer, lines[0]);
        producer.Flush(TimeSpan.FromSeconds(30));
        scenario.Broker.SetRoundTripTime(TimeSpan.FromSeconds(8));
        Resend(producer, lines[1]);
        await WaitForStatus(http, worker, "/health/live", HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusOf(http, "/health/ready"));
        scenario.Broker.SetRoundTripTime(TimeSpan.Zero);
        await WaitForStatus(http, worker, "/health/ready", HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, await StatusOf(http, "/health/live"));
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

    private void Resend(IProducer<byte[]?, byte[]> producer, string line) =>
        producer.Produce(scenario.TopicOf(line), new Message<byte[]?, byte[]> { Key = KafkaScenario.KeyOf(line), Value = Encoding.UTF8.GetBytes(line) });

    private static async Task WaitForStatus(HttpClient http, WorkerProcess worker, string path, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (await StatusOf(http, path) != status)
        {
            Assert.False(worker.HasExited, $"the worker exited:\n{worker.Log}");
            Assert.True(DateTime.UtcNow < deadline, $"{path} never answered {(int)status}:\n{worker.Log}");
            await Task.Delay(250);
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
