using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;
using StreamSegments.Worker.Demo;
using StreamSegments.Worker.Generate;

namespace StreamSegments.Benchmarks;

/// <summary>
/// The Kafka issue's two figures, on the embedded broker in this process: (1) the worker's end-to-end
/// throughput over a backlog against a plain consume-only loop over the same topics in the same run; (2) the
/// latency from producing an event to a read_committed reader seeing the change it caused, at a steady rate.
/// Usage: <c>kafka [events=1000000] [rate=20000] [seconds=30] [partitions=12]</c>; 0 events or 0 seconds skips
/// that part; partitions applies to the latency part (the throughput part sizes them to hold its backlog).
/// </summary>
public static class KafkaWorkerBenchmark
{
    private const int MinPartitions = 3;
    private const int LatencyPartitions = 12;

    /// <summary>A run that makes no progress for this long has stalled: it fails instead of waiting forever.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(string[] args)
    {
        // --tables: with the optional current-state tables published too (one more record per change).
        var tables = args.Contains("--tables", StringComparer.Ordinal);
        args = [.. args.Where(a => a != "--tables")];
        var events = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var rate = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
        var topics = new TopicOptions();
        if (tables)
        {
            topics.CurrentSegments = TopicOptions.SuggestedTables[0];
            topics.CurrentCategoryInterests = TopicOptions.SuggestedTables[1];
        }

        if (events > 0)
        {
            var input = Generate(topics, events);
            var partitions = PartitionsFor(input.Max(t => t.Value.Bytes));
            using var broker = NewBroker(topics, partitions);
            Console.WriteLine($"producing {events} generated events to {partitions} partitions per topic ...");
            var produced = Produce(broker, input, partitions);
            var consumeOnly = ConsumeOnly(broker, topics, produced);
            var worker = RunWorker(broker, topics, produced, partitions, "bench");
            Console.WriteLine($"consume-only: {produced / consumeOnly.TotalSeconds:F0} records/s ({consumeOnly.TotalSeconds:F1} s)");
            Console.WriteLine($"worker:       {produced / worker.TotalSeconds:F0} records/s ({worker.TotalSeconds:F1} s, consumed to committed)");
            Console.WriteLine($"ratio:        {consumeOnly.TotalSeconds / worker.TotalSeconds:F2}");
        }

        if (seconds > 0)
        {
            // The worker reads the traffic as it comes, so the broker need not keep all of it, and a realistic
            // partition count is used rather than one sized to the retention (the 4th argument overrides it). More
            // partitions make the embedded broker slower than the worker: it finds a fetch's offset by walking the
            // partition's retained batches from the oldest (rdkafka_mock.c, "FIXME: Maintain an index"), and each
            // partition keeps up to 5 MiB of them, so at 54 partitions that walk was over 30% of the process's CPU
            // and grew for the whole run (README, "Where the time goes").
            var partitions = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : LatencyPartitions;
            using var broker = NewBroker(topics, partitions);
            await MeasureLatencyAsync(broker, topics, partitions, rate, seconds);
        }
    }

    /// <summary>
    /// Enough partitions that the largest topic fits the embedded broker's retention with room for an uneven
    /// spread: past it the mock silently drops the oldest records, and a run waiting for all of them never ends.
    /// </summary>
    private static int PartitionsFor(long largestTopicBytes) =>
        (int)Math.Max(MinPartitions, Math.Ceiling(largestTopicBytes * 1.5 / EmbeddedBroker.RetainedBytesPerPartition));

    private static EmbeddedBroker NewBroker(TopicOptions topics, int partitions)
    {
        var broker = new EmbeddedBroker();
        foreach (var topic in topics.All)
        {
            broker.CreateTopic(topic, partitions);
        }

        return broker;
    }

    /// <summary>Generated input per topic: (key, value) in order, and the bytes it takes on the broker.</summary>
    private static Dictionary<string, (List<(byte[] Key, byte[] Value)> Records, long Bytes)> Generate(TopicOptions topics, long events)
    {
        using var file = new MemoryStream();
        TrafficGenerator.Write(file, new GeneratorOptions { Events = events, Buyers = (int)Math.Max(1000, events / 5), DuplicateRate = 0, InvalidRate = 0 });
        using var reader = new StreamReader(new MemoryStream(file.ToArray())); // the generator closes its output
        var input = topics.Inputs.ToDictionary(t => t, _ => (Records: new List<(byte[] Key, byte[] Value)>(), Bytes: 0L), StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var topic = topics.InputTopicOf(doc.RootElement.GetProperty("type").GetString());
            var key = Encoding.UTF8.GetBytes(doc.RootElement.GetProperty("buyerId").GetString()!);
            var value = Encoding.UTF8.GetBytes(line);
            var (records, bytes) = input[topic];
            records.Add((key, value));

            // Record overhead in a v2 batch is a few tens of bytes; count it so that the partition sizing is safe.
            input[topic] = (records, bytes + key.Length + value.Length + 40);
        }

        return input;
    }

    /// <summary>Produces the input (record timestamps one tick apart, a day ago) and checks the broker kept all of it.</summary>
    private static long Produce(EmbeddedBroker broker, Dictionary<string, (List<(byte[] Key, byte[] Value)> Records, long Bytes)> input, int partitions)
    {
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 20, QueueBufferingMaxMessages = 2_000_000 }).Build())
        {
            var at = DateTimeOffset.UtcNow.AddDays(-1);
            foreach (var (topic, (records, _)) in input)
            {
                foreach (var (key, value) in records)
                {
                    producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value, Timestamp = new Timestamp(at = at.AddTicks(1)) });
                }
            }

            if (producer.Flush(TimeSpan.FromMinutes(5)) > 0)
            {
                throw new InvalidOperationException("The input was not fully produced.");
            }
        }

        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = broker.BootstrapServers, GroupId = "watermarks" }).Build();
        long total = 0;
        foreach (var topic in input.Keys)
        {
            for (var partition = 0; partition < partitions; partition++)
            {
                var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10));
                if (watermarks.Low.Value > 0)
                {
                    throw new InvalidOperationException($"The embedded broker dropped the first {watermarks.Low.Value} records of {topic} [{partition}] (over its per-partition retention); use more partitions.");
                }

                total += watermarks.High.Value;
            }
        }

        var generated = input.Values.Sum(t => (long)t.Records.Count);
        return total == generated ? total : throw new InvalidOperationException($"{generated} records generated but {total} on the broker.");
    }
    /// <summary>A consumer group reading the four input topics to their end, touching every value: the ceiling.</summary>
    private static TimeSpan ConsumeOnly(EmbeddedBroker broker, TopicOptions topics, long records)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "consume-only",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
        }).Build();
        consumer.Subscribe(topics.Inputs);
        long seen = 0;
        long bytes = 0;
        Stopwatch? clock = null;
        var progress = new StallWatch("consume-only", records);
        while (seen < records)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record?.Message is { } message)
            {
                clock ??= Stopwatch.StartNew();
                bytes += message.Value.Length;
                seen++;
            }

            progress.Check(seen);
        }

        consumer.Close();
        return clock!.Elapsed;
    }

    /// <summary>
    /// The instrumentation's cost: the worker over one backlog <c>rounds</c> times without anyone listening to its meter
    /// and activity source, and as many times with the OpenTelemetry SDK collecting both (metrics read every second,
    /// every batch span recorded), alternating so that both see the same machine. Usage: <c>kafka-telemetry [events] [rounds]</c>.
    /// </summary>
    public static void RunTelemetryOverhead(string[] args)
    {
        var events = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var topics = new TopicOptions();
        var input = Generate(topics, events);
        var partitions = PartitionsFor(input.Max(t => t.Value.Bytes));
        using var broker = NewBroker(topics, partitions);
        Console.WriteLine($"producing {events} generated events to {partitions} partitions per topic ...");
        var produced = Produce(broker, input, partitions);
        var plain = new List<double>();
        var instrumented = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Every other round runs the instrumented worker first, so that neither side always gets the warmer machine.
            if (round % 2 == 1)
            {
                instrumented.Add(RunInstrumented(broker, topics, produced, partitions, $"instrumented-{round}"));
            }

            plain.Add(produced / RunWorker(broker, OwnOutputs(broker, topics, $"plain-{round}", partitions), produced, partitions, $"plain-{round}").TotalSeconds);
            if (round % 2 == 0)
            {
                instrumented.Add(RunInstrumented(broker, topics, produced, partitions, $"instrumented-{round}"));
            }

            Console.WriteLine($"round {round + 1}: not listened to {plain[^1]:F0} records/s, OpenTelemetry collecting {instrumented[^1]:F0} records/s");
        }

        var (plainMedian, instrumentedMedian) = (plain.Order().ElementAt(rounds / 2), instrumented.Order().ElementAt(rounds / 2));
        Console.WriteLine($"median of {rounds}: {plainMedian:F0} vs {instrumentedMedian:F0} records/s; instrumentation costs {(1 - (instrumentedMedian / plainMedian)) * 100:F1}%");

        // The two runs of a round are back to back, so the machine's slower drifts cancel in their ratio.
        var paired = plain.Zip(instrumented, (p, i) => (1 - (i / p)) * 100).Order().ToList();
        Console.WriteLine($"per round, back to back: median cost {paired[rounds / 2]:F1}%, mean {paired.Average():F1}% (from {paired[0]:F1}% to {paired[^1]:F1}%)");
    }

    /// <summary>The worker with the OpenTelemetry SDK collecting its metrics every second and recording every span; records/s.</summary>
    private static double RunInstrumented(EmbeddedBroker broker, TopicOptions topics, long produced, int partitions, string group)
    {
        var metrics = new List<Metric>();
        var spans = new List<Activity>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter(SegmentStreamTelemetry.MeterName)
            .AddInMemoryExporter(metrics, reader => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 1_000).Build();
        using var tracer = Sdk.CreateTracerProviderBuilder().AddSource(SegmentStreamTelemetry.ActivitySourceName)
            .SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(spans).Build();
        var runTopics = OwnOutputs(broker, topics, group, partitions);
        using var telemetry = new SegmentStreamTelemetry(null, WorkerOptions(broker, runTopics, group));
        var rate = produced / RunWorker(broker, runTopics, produced, partitions, group, telemetry).TotalSeconds;
        return spans.Count > 0 && metrics.Count > 0
            ? rate
            : throw new InvalidOperationException("The instrumented run exported nothing: it did not measure what it claims.");
    }

    /// <summary>The same inputs, outputs and changelog of its own: a run must not restore the state another run left.</summary>
    private static TopicOptions OwnOutputs(EmbeddedBroker broker, TopicOptions topics, string run, int partitions)
    {
        var own = new TopicOptions
        {
            OrdersPaid = topics.OrdersPaid,
            ProductsViewed = topics.ProductsViewed,
            CartEvents = topics.CartEvents,
            FavoriteEvents = topics.FavoriteEvents,
            SegmentChanges = $"{run}.{topics.SegmentChanges}",
            CategoryInterestChanges = $"{run}.{topics.CategoryInterestChanges}",
            Changelog = $"{run}.{topics.Changelog}",
            DeadLetter = $"{run}.{topics.DeadLetter}",
            SellerCategories = $"{run}.{topics.SellerCategories}",
        };
        foreach (var topic in own.All.Except(own.Inputs))
        {
            broker.CreateTopic(topic, partitions);
        }

        return own;
    }

    private static SegmentStreamOptions WorkerOptions(EmbeddedBroker broker, TopicOptions topics, string group) =>
        new() { BootstrapServers = broker.BootstrapServers, GroupId = group, InstanceId = group, FollowWallClock = false, Topics = topics };

    /// <summary>The worker over the same backlog, from its first record to every record committed.</summary>
    private static TimeSpan RunWorker(EmbeddedBroker broker, TopicOptions topics, long records, int partitions, string group, SegmentStreamTelemetry? telemetry = null)
    {
        var state = Path.Combine(Path.GetTempPath(), $"ss-bench-{Guid.NewGuid():N}");
        using var cancellation = new CancellationTokenSource();
        using var processor = new SegmentStreamProcessor(
            WorkerOptions(broker, topics, group),
            new SegmentPolicy(), new StateStoreOptions { Directory = state, MemoryBudgetBytes = Math.Max(16L << 20, (1L << 30) / partitions) },
            NullLogger<SegmentStreamProcessor>.Instance, telemetry: telemetry);
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                processor.Run(cancellation.Token);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        Stopwatch? clock = null;
        long commitsAtEnd = -1;
        var progress = new StallWatch("worker", records);
        try
        {
            while (true)
            {
                Thread.Sleep(1);
                if (failure is not null)
                {
                    throw new InvalidOperationException("The worker failed.", failure);
                }

                var counters = processor.Counters;
                if (clock is null && counters.RecordsConsumed > 0)
                {
                    clock = Stopwatch.StartNew();
                }

                if (counters.RecordsConsumed >= records && commitsAtEnd < 0)
                {
                    commitsAtEnd = counters.Commits;
                }

                if (commitsAtEnd >= 0 && counters.Commits > commitsAtEnd)
                {
                    break;
                }

                progress.Check(counters.RecordsConsumed + counters.Commits);
            }

            // What the worker writes to the same broker for each record it reads, which the consume-only loop does not.
            Console.WriteLine($"{group}: {processor.Counters.RecordsProduced} records produced, {(double)processor.Counters.RecordsProduced / records:F2} per record read (changes, changelog, markers)");
            return clock!.Elapsed;
        }
        finally
        {
            cancellation.Cancel();
            thread.Join();
            FasterBuyerStateStore.DeleteDirectory(state);
        }
    }

    /// <summary>Fails a measurement whose progress counter has not moved for <see cref="StallTimeout"/>.</summary>
    private sealed class StallWatch(string what, long target)
    {
        private readonly Stopwatch sinceProgress = Stopwatch.StartNew();
        private long last = -1;

        public void Check(long progress)
        {
            if (progress != last)
            {
                last = progress;
                sinceProgress.Restart();
            }
            else if (sinceProgress.Elapsed > StallTimeout)
            {
                throw new TimeoutException($"{what} made no progress for {StallTimeout.TotalSeconds:F0} s (at {progress} of {target}).");
            }
        }
    }

    /// <summary>
    /// Demo events stamped with the wall clock at <paramref name="rate"/> per second; a read_committed reader
    /// measures, for each change caused by an event, the time from that event's instant (its produce time) to
    /// seeing the change.
    /// </summary>
    private static async Task MeasureLatencyAsync(EmbeddedBroker broker, TopicOptions topics, int partitions, int rate, int seconds)
    {
        var state = Path.Combine(Path.GetTempPath(), $"ss-bench-{Guid.NewGuid():N}");
        using var cancellation = new CancellationTokenSource();
        using var processor = new SegmentStreamProcessor(
            new SegmentStreamOptions { BootstrapServers = broker.BootstrapServers, GroupId = "latency", InstanceId = "latency" },
            new SegmentPolicy(), new StateStoreOptions { Directory = state, MemoryBudgetBytes = 64L << 20 },
            NullLogger<SegmentStreamProcessor>.Instance);
        var worker = new Thread(() => processor.Run(cancellation.Token));
        worker.Start();
        while (!processor.Status.IsReady || processor.Counters.Restores < partitions)
        {
            await Task.Delay(100);
        }

        var latencies = new List<(DateTimeOffset At, double Ms)>();
        var reader = new Thread(() =>
        {
            using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
            {
                BootstrapServers = broker.BootstrapServers,
                GroupId = "latency-reader",
                IsolationLevel = IsolationLevel.ReadCommitted,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                FetchWaitMaxMs = 10,
            }).Build();
            consumer.Subscribe(topics.SegmentChanges);
            while (!cancellation.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record?.Message?.Value is { } value)
                {
                    using var doc = JsonDocument.Parse(value);
                    if (doc.RootElement.GetProperty("cause").GetString() == "event")
                    {
                        var at = DateTimeOffset.Parse(doc.RootElement.GetProperty("effectiveAt").GetString()!, CultureInfo.InvariantCulture);
                        lock (latencies)
                        {
                            latencies.Add((at, (DateTimeOffset.UtcNow - at).TotalMilliseconds));
                        }
                    }
                }
            }
        });
        reader.Start();

        // A fresh worker starts about 3 s behind (the first fetches, JIT at tier 0) and at 20,000/s needs 7-11 s
        // more to catch up (printed per second below); the steady state is what is asked for, so the traffic runs a
        // warm-up of 15 s first and the measured seconds after it.
        var warmUp = TimeSpan.FromSeconds(15);
        var measureFrom = DateTimeOffset.UtcNow + warmUp;
        var gcBefore = GcReading.Now();
        var demo = new DemoTraffic(new DemoOptions { HistoryEvents = 0, EventsPerSecond = rate, Buyers = 200_000, Sellers = 200 }, topics, broker.BootstrapServers, TimeProvider.System, NullLogger<DemoTraffic>.Instance);
        using (var run = new CancellationTokenSource(warmUp + TimeSpan.FromSeconds(seconds)))
        {
            try
            {
                await demo.ProduceLiveAsync(run.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        var gcAfter = GcReading.Now();
        await Task.Delay(3000);
        cancellation.Cancel();
        reader.Join();
        worker.Join();
        FasterBuyerStateStore.DeleteDirectory(state);

        var steady = latencies.Where(l => l.At >= measureFrom).Select(l => l.Ms).Order().ToList();
        var all = latencies.Select(l => l.Ms).Order().ToList();
        Console.WriteLine(
            $"latency at {rate} events/s for {seconds} s after a {warmUp.TotalSeconds:F0} s warm-up, {partitions} partitions ({demo.Produced} events, {steady.Count} event-caused changes measured): " +
            $"p50 {Percentile(steady, 0.5):F0} ms, p99 {Percentile(steady, 0.99):F0} ms, max {steady.LastOrDefault():F0} ms " +
            $"(whole run incl. warm-up: p50 {Percentile(all, 0.5):F0} ms, p99 {Percentile(all, 0.99):F0} ms)");

        // Where the tail sits: a stall (checkpoint, commit, GC) shows as one bad second, a backlog as a slope.
        var start = latencies.Count == 0 ? default : latencies.Min(l => l.At);
        var perSecond = latencies
            .GroupBy(l => (int)(l.At - start).TotalSeconds)
            .OrderBy(g => g.Key)
            .Select(g => $"{g.Key}s:{Percentile(g.Select(l => l.Ms).Order().ToList(), 0.99):F0}");
        Console.WriteLine($"p99 by second of event time (ms): {string.Join(' ', perSecond)}");
        var counters = processor.Counters;
        Console.WriteLine($"worker loop: {counters.Commits} commits ({counters.CommitMs} ms), {counters.Checkpoints} checkpoints ({counters.CheckpointMs} ms)");
        Console.WriteLine($"GC while traffic ran (whole process): {gcAfter.Minus(gcBefore)}");
    }

    private readonly record struct GcReading(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long HeapBytes)
    {
        public static GcReading Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalMemory(false));

        public string Minus(GcReading before) =>
            $"{Gen0 - before.Gen0} gen0, {Gen1 - before.Gen1} gen1, {Gen2 - before.Gen2} gen2 collections, {(Paused - before.Paused).TotalMilliseconds:F0} ms paused, heap {HeapBytes >> 20} MiB";
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, p * sorted.Count)];
}
