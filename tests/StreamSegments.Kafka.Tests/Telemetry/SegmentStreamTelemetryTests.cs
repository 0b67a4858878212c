using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Storage;
using StreamSegments.Worker.Tests.Support;
using static StreamSegments.Kafka.Tests.Support.ExportedMetrics;

namespace StreamSegments.Kafka.Tests.Telemetry;

/// <summary>
/// The worker over the scenario-small fixture with OpenTelemetry's in-memory exporters: each key metric must carry
/// the value the fixture (or the outputs actually published) gives, not merely exist.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class SegmentStreamTelemetryTests : IDisposable
{
    private const int TracedEvery = 97;

    private readonly KafkaScenario scenario = new(partitions: 3);
    private readonly string fixture = RepoPaths.Fixture("scenario-small");

    [Fact]
    public void The_metrics_and_spans_of_a_fixture_run_carry_its_counts_and_trace_context()
    {
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        var producerTraces = new HashSet<ActivityTraceId>();
        scenario.Produce(lines, asOf.AddDays(-800), index =>
        {
            if (index % TracedEvery != 0)
            {
                return null;
            }

            var trace = ActivityTraceId.CreateRandom();
            producerTraces.Add(trace);
            return new Headers { { "traceparent", Encoding.ASCII.GetBytes($"00-{trace}-{ActivitySpanId.CreateRandom()}-01") } };
        });

        using var metrics = new ExportedMetrics();
        var spans = new List<Activity>();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSource(SegmentStreamTelemetry.ActivitySourceName).AddInMemoryExporter(spans).Build();
        var clock = new StoppedClock(asOf);
        var options = scenario.Options(clock);
        options.CheckpointIntervalMs = 1_000;
        using var telemetry = new SegmentStreamTelemetry(null, options);
        List<MetricSnapshot> running = [];
        var readyWhileRunning = false;

        var counters = scenario.RunWorkerUntilQuiet(lines.Length, clock, options, telemetry, processor =>
        {
            // Checkpoints run every second, one task after another: wait (up to a minute) until each of the 3 tasks
            // has taken one after its last commit, so that every task has a size to report.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            do
            {
                Thread.Sleep(200);
                running = metrics.Collect();
            }
            while (DateTime.UtcNow < deadline && CountPoints(running, "streamsegments.checkpoint.size") < 3);
            readyWhileRunning = processor.Status.IsReady;
        });
        var stopped = metrics.Collect();

        Assert.True(readyWhileRunning);

        // Consumed: by input topic and event type, as the parser classifies each line (invalid: did not parse).
        var parser = new EventParser(new SymbolTable(), new SymbolTable());
        var scratch = new BuyerEvent();
        var expectedConsumed = lines
            .Select(line => (Topic: scenario.TopicOf(line), Type: parser.TryParse(Encoding.UTF8.GetBytes(line), scratch, out _) ? scratch.Kind.ToWireName() : "invalid"))
            .CountBy(x => $"{x.Topic}|{x.Type}")
            .ToDictionary(p => p.Key, p => (double)p.Value);
        Assert.Equal(Sorted(expectedConsumed), Sorted(Points(stopped, "messaging.client.consumed.messages", "messaging.destination.name", "streamsegments.event.type")));

        // Rejected: by reason, as the dead letters actually published say.
        var deadLetters = scenario.ReadCommitted(scenario.Topics.DeadLetter)
            .Select(r => Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("segments-reason")))
            .CountBy(reason => reason)
            .ToDictionary(p => p.Key, p => (double)p.Value);
        Assert.NotEmpty(deadLetters);
        Assert.Equal(Sorted(deadLetters), Sorted(Points(stopped, "streamsegments.events.rejected", "error.type")));
        Assert.Equal(counters.Duplicates, Points(stopped, "streamsegments.events.duplicates").Values.Sum());

        // Changes: by segment left and entered, and interest entered/left, as the fixture's expected outputs tally them.
        var expectedChanges = File.ReadLines(Path.Combine(fixture, "changes.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .CountBy(c => $"{c.GetProperty("from").GetString() ?? "none"}|{c.GetProperty("to").GetString() ?? "none"}")
            .ToDictionary(p => p.Key, p => (double)p.Value);
        Assert.Equal(Sorted(expectedChanges), Sorted(Points(stopped, "streamsegments.segment.changes", "streamsegments.segment.from", "streamsegments.segment.to")));
        var expectedInterest = File.ReadLines(Path.Combine(fixture, "category-changes.jsonl"))
            .CountBy(line => JsonDocument.Parse(line).RootElement.GetProperty("change").GetString()!)
            .ToDictionary(p => p.Key, p => (double)p.Value);
        Assert.Equal(Sorted(expectedInterest), Sorted(Points(stopped, "streamsegments.category_interest.changes", "streamsegments.change").Where(p => p.Value > 0)));

        // Pairs per segment (summed over tasks) at the as-of instant: the fixture's snapshot, direct segments only.
        var expectedPairs = File.ReadLines(Path.Combine(fixture, "snapshot.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("segment").GetString()!)
            .Where(segment => segment != "interested-categories")
            .CountBy(segment => segment)
            .ToDictionary(p => p.Key, p => (double)p.Value);
        var pairs = Points(running, "streamsegments.pairs", "streamsegments.segment");
        Assert.Equal(Sorted(expectedPairs), Sorted(pairs.Where(p => p.Value != 0)));

        // Caught up: no lag on any of the 4 x 3 input partitions; every task's clock at the (stopped) wall clock.
        var lag = Points(running, "messaging.kafka.consumer.lag", "messaging.destination.name", "messaging.destination.partition.id");
        Assert.Equal(12, lag.Count);
        Assert.All(lag.Values, v => Assert.Equal(0, v));
        Assert.All(Points(running, "streamsegments.consumer.lag.time", "messaging.destination.name", "messaging.destination.partition.id").Values, v => Assert.Equal(0, v));
        var clockLag = Points(running, "streamsegments.task.clock.lag", "streamsegments.task");
        Assert.Equal(3, clockLag.Count);
        Assert.All(clockLag.Values, v => Assert.Equal(0, v));

        // State: the buyers gauge equals the buyers the stores hold; every task has checkpointed something.
        Assert.Equal(BuyersInStores(), Points(running, "streamsegments.state.buyers", "streamsegments.task").Values.Sum());
        var checkpointSizes = Points(running, "streamsegments.checkpoint.size", "streamsegments.task");
        Assert.Equal(3, checkpointSizes.Count);
        Assert.All(checkpointSizes.Values, v => Assert.True(v > 0));
        Assert.All(Points(running, "streamsegments.state.memory.size", "streamsegments.task").Values, v => Assert.True(v > 0));

        // Histograms: one latency per applied event, one duration per commit, checkpoint and restore.
        Assert.Equal(counters.EventsApplied, HistogramCount(stopped, "streamsegments.processing.latency"));
        Assert.Equal(counters.Commits, HistogramCount(stopped, "streamsegments.commit.duration"));
        Assert.Equal(counters.Checkpoints, HistogramCount(stopped, "streamsegments.checkpoint.duration"));
        Assert.Equal(3, HistogramCount(stopped, "streamsegments.restore.duration"));
        Assert.Equal(counters.RecordsRestored, Points(stopped, "streamsegments.restore.records", "streamsegments.task").Values.Sum());

        // Spans: one per committed batch, together covering every record; one per checkpoint and per restore.
        var batches = spans.Where(s => s.OperationName == "process batch").ToList();
        Assert.Equal(counters.Commits, batches.Count);
        Assert.Equal(lines.Length, batches.Sum(b => Convert.ToInt64(b.GetTagItem("messaging.batch.message_count"), System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(counters.Checkpoints, spans.Count(s => s.OperationName == "checkpoint"));
        Assert.Equal(3, spans.Count(s => s.OperationName == "restore"));

        // Trace context: batches link exactly the producers' traces; each published change carries its batch's context on.
        Assert.Equal(
            producerTraces.Select(t => t.ToHexString()).Order(StringComparer.Ordinal),
            batches.SelectMany(b => b.Links).Select(l => l.Context.TraceId.ToHexString()).Order(StringComparer.Ordinal));
        var batchContexts = batches.Select(b => b.Id).ToHashSet();
        var changes = scenario.ReadCommitted(scenario.Topics.SegmentChanges);
        Assert.NotEmpty(changes);
        Assert.All(changes, c => Assert.Contains(Encoding.ASCII.GetString(c.Message.Headers.GetLastBytes("traceparent")), batchContexts));
    }

    [Fact]
    public void A_worker_is_not_ready_before_it_runs_and_is_ready_once_its_tasks_have_restored()
    {
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl")).Take(200).ToArray();
        scenario.Produce(lines, DateTimeOffset.UtcNow.AddDays(-10));
        var options = scenario.Options();
        using var processor = new SegmentStreamProcessor(
            options, new Core.Policy.SegmentPolicy(), scenario.StateOptions(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SegmentStreamProcessor>.Instance);
        Assert.False(processor.Status.IsReady);

        var readyWhileRunning = false;
        scenario.RunWorkerUntilQuiet(lines.Length, options: options, whileQuiet: running => readyWhileRunning = running.Status.IsReady);
        Assert.True(readyWhileRunning);
    }

    [Fact]
    public void Batches_are_traced_once_a_listener_arrives_and_after_one_its_sampler_dropped()
    {
        using var telemetry = new SegmentStreamTelemetry(null, scenario.Options());
        void CommitBatch(int records)
        {
            telemetry.Batch(default);
            telemetry.Committed([], new CommitSummary(Records: records, DeadLetters: 0, RecordsProduced: records), 0.01, 0);
        }

        CommitBatch(1); // nobody listens yet
        var spans = new List<Activity>();
        var sampler = new DropFirstBatchSampler();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSource(SegmentStreamTelemetry.ActivitySourceName)
            .SetSampler(sampler).AddInMemoryExporter(spans).Build();
        CommitBatch(2); // dropped by the sampler
        CommitBatch(3);

        Assert.True(sampler.Dropped);
        var traced = Assert.Single(spans, s => s.OperationName == "process batch");
        Assert.Equal(3L, traced.GetTagItem("messaging.batch.message_count"));
    }

    [Fact]
    public void Rejects_and_duplicates_of_an_aborted_transaction_are_not_counted_and_their_redo_is_counted_once()
    {
        using var metrics = new ExportedMetrics();
        using var telemetry = new SegmentStreamTelemetry(null, scenario.Options());
        void Work()
        {
            telemetry.RecordRejected("orders.paid", "malformed-json");
            telemetry.RecordDuplicate(order: false);
            telemetry.RecordDuplicate(order: true);
        }

        Work();
        telemetry.Aborted([], "partitions-lost", transactionOpen: true);
        var afterAbort = metrics.Collect();
        Assert.DoesNotContain(afterAbort, m => m.Name is "streamsegments.events.rejected" or "streamsegments.events.duplicates");

        Work();
        telemetry.Committed([], new CommitSummary(Records: 3, DeadLetters: 1, RecordsProduced: 1), 0.01, 0);
        var afterCommit = metrics.Collect();
        Assert.Equal(new Dictionary<string, double> { ["malformed-json|orders.paid"] = 1 }, Points(afterCommit, "streamsegments.events.rejected", "error.type", "messaging.destination.name"));
        Assert.Equal(new Dictionary<string, double> { ["event-id"] = 1, ["order-id"] = 1 }, Points(afterCommit, "streamsegments.events.duplicates", "streamsegments.duplicate.kind"));
    }

    [Fact]
    public void Event_ids_a_buyer_over_the_limit_forgets_are_counted()
    {
        const int views = 40;
        const int limit = 16; // kept: between 15 (after a trim to nine tenths) and 16
        var lines = Enumerable.Range(0, views).Select(i =>
            $$"""{"type":"product-viewed","eventId":"v-{{i}}","occurredAt":"2026-11-01T11:{{i:D2}}:00.000Z","buyerId":"b-crawler","sellerId":"s-1","productId":"p-1","categoryId":"c-1"}""").ToArray();
        scenario.Produce(lines, new DateTimeOffset(2026, 11, 1, 11, 0, 0, TimeSpan.Zero));
        using var metrics = new ExportedMetrics();
        var options = scenario.Options();
        using var telemetry = new SegmentStreamTelemetry(null, options);

        scenario.RunWorkerUntilQuiet(views, new StoppedClock(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero)), options, telemetry, policy: new SegmentPolicy { MaxRememberedEventIds = limit });

        Assert.InRange(Points(metrics.Collect(), "streamsegments.event_ids.forgotten_early").Values.Sum(), views - limit, views - limit + 1);
    }

    [Fact]
    public void Changes_a_policy_re_evaluation_publishes_carry_the_trace_context_of_their_batch()
    {
        // b-1's order from s-1 is 45 days before the clock: in a 90-day window, not in a 30-day one.
        string[] lines =
        [
            """{"type":"order-paid","eventId":"e-1","occurredAt":"2026-09-17T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-1","amount":100}""",
            """{"type":"product-viewed","eventId":"e-2","occurredAt":"2026-11-01T12:00:00.000Z","buyerId":"b-1","sellerId":"s-2","productId":"p-1","categoryId":"c-1"}""",
        ];
        scenario.Produce(lines, new DateTimeOffset(2026, 11, 1, 11, 0, 0, TimeSpan.Zero));
        var clock = new StoppedClock(new DateTimeOffset(2026, 11, 1, 12, 0, 0, 1, TimeSpan.Zero));
        var options = scenario.Options(clock, successiveRuns: true);
        scenario.RunWorkerUntilQuiet(lines.Length, clock, options);

        var spans = new List<Activity>();
        using (Sdk.CreateTracerProviderBuilder().AddSource(SegmentStreamTelemetry.ActivitySourceName).AddInMemoryExporter(spans).Build())
        {
            scenario.RunRestoredWorkerUntilQuiet(clock, options, new SegmentPolicy { WindowDays = 30 });
        }

        var batchContexts = spans.Where(s => s.OperationName == "process batch").Select(s => s.Id).ToHashSet();
        var reevaluated = scenario.ReadCommitted(scenario.Topics.SegmentChanges)
            .Where(c => JsonDocument.Parse(c.Message.Value!).RootElement.GetProperty("cause").GetString() == "policy-change")
            .ToList();
        Assert.NotEmpty(reevaluated);
        Assert.All(reevaluated, c => Assert.Contains(
            c.Message.Headers.TryGetLastBytes("traceparent", out var traceParent) ? Encoding.ASCII.GetString(traceParent) : "<none>", batchContexts));
    }

    public void Dispose() => scenario.Dispose();

    private static List<KeyValuePair<string, double>> Sorted(IEnumerable<KeyValuePair<string, double>> points) =>
        [.. points.OrderBy(p => p.Key, StringComparer.Ordinal)];

    /// <summary>Buyers in the tasks' stores as their final checkpoints hold them.</summary>
    private double BuyersInStores()
    {
        long buyers = 0;
        foreach (var directory in Directory.GetDirectories(scenario.StateDirectory, "task-*"))
        {
            using var store = new FasterBuyerStateStore(directory, scenario.StateOptions(), new SymbolTable(), new SymbolTable());
            store.RecoverAsync(CancellationToken.None).GetAwaiter().GetResult();
            store.ForEachBuyer(new BuyerState(), _ => buyers++);
        }

        return buyers;
    }
}

/// <summary>Drops the first batch span, samples everything else (as a ratio sampler would, sometimes).</summary>
internal sealed class DropFirstBatchSampler : Sampler
{
    public bool Dropped { get; private set; }

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        if (!Dropped && samplingParameters.Name == "process batch")
        {
            Dropped = true;
            return new SamplingResult(SamplingDecision.Drop);
        }

        return new SamplingResult(SamplingDecision.RecordAndSample);
    }
}
