using System.Net;
using System.Text;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Run;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Telemetry;

/// <summary>
/// With the standard OTEL_* variables set, the worker process pushes metrics, traces and logs over OTLP/HTTP, each
/// with its resource; here an HTTP listener stands where a collector would.
/// </summary>
public sealed class OtlpExportTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);
    private readonly string state = Path.Combine(Path.GetTempPath(), $"ss-otlp-{Guid.NewGuid():N}");
    private readonly HttpListener collector = new();
    private readonly Dictionary<string, List<byte[]>> received = new(StringComparer.Ordinal);

    [Fact]
    public async Task The_worker_pushes_metrics_traces_and_logs_to_the_configured_otlp_endpoint()
    {
        var port = LoopbackPort.Free();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var receiving = Task.Run(Receive);
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Fixture("scenario-small"), "events.jsonl"));
        scenario.Produce(lines, DateTimeOffset.UtcNow.AddDays(-30));

        using var worker = WorkerProcess.Start(scenario, "otlp", state, environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "500",
        });
        worker.WaitUntilCommitted(scenario, lines.Length);
        Assert.Equal(0, worker.Stop());
        collector.Stop();
        await receiving.WaitAsync(TimeSpan.FromSeconds(10));

        // Protobuf bodies: the resource's service name and the instrumentation's names appear as UTF-8 strings.
        lock (received)
        {
            Assert.Contains(received.GetValueOrDefault("/v1/metrics") ?? [], body => Has(body, "streamsegments") && Has(body, "messaging.client.consumed.messages"));
            Assert.Contains(received.GetValueOrDefault("/v1/traces") ?? [], body => Has(body, "streamsegments") && Has(body, "process batch"));
            Assert.Contains(received.GetValueOrDefault("/v1/logs") ?? [], body => Has(body, "streamsegments") && Has(body, "Worker started"));
        }
    }

    public void Dispose()
    {
        collector.Close();
        scenario.Dispose();
        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static bool Has(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private void Receive()
    {
        while (collector.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = collector.GetContext();
            }
            catch (HttpListenerException)
            {
                return; // stopped
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            using var body = new MemoryStream();
            context.Request.InputStream.CopyTo(body);
            lock (received)
            {
                var path = context.Request.Url!.AbsolutePath;
                if (!received.TryGetValue(path, out var bodies))
                {
                    received[path] = bodies = [];
                }

                bodies.Add(body.ToArray());
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }
}
