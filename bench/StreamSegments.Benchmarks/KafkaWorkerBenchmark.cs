using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Storage;
using StreamSegments.Worker.Demo;
using StreamSegments.Worker.Generate;

namespace StreamSegments.Benchmarks;

/// <summary>
/// The Kafka issue's two figures, on the embedded broker in this process: (1) the worker's end-to-end
/// throughput over a backlog against a plain consume-only loop over the same topics in the same run; (2) the
/// latency from producing an event to a read_committed reader seeing the change it caused, at a steady rate.
/// Usage: <c>kafka [events=1000000] [rate=20000] [seconds=30]</c>.
/// </summary>
public static class KafkaWorkerBenchmark
{
    private const int Partitions = 3;

    public static async Task RunAsync(string[] args)
    {
        var events = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var rate = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30;
        var topics = new TopicOptions();

        using (var broker = NewBroker(topics))
        {
            Console.WriteLine($"producing {events} generated events ...");
            ProduceGenerated(broker, topics, events);
            var consumeOnly = ConsumeOnly(broker, topics, events);
            var worker = RunWorker(broker, topics, events);
            Console.WriteLine($"consume-only: {events / consumeOnly.TotalSeconds:F0} records/s ({consumeOnly.TotalSeconds:F1} s)");
            Console.WriteLine($"worker:       {events / worker.TotalSeconds:F0} records/s ({worker.TotalSeconds:F1} s, consumed to committed)");
            Console.WriteLine($"ratio:        {consumeOnly.TotalSeconds / worker.TotalSeconds:F2}");
        }

        using (var broker = NewBroker(topics))
        {
            await MeasureLatencyAsync(broker, topics, rate, seconds);
        }
    }

    private static EmbeddedBroker NewBroker(TopicOptions topics)
    {
        var broker = new EmbeddedBroker();
        foreach (var topic in topics.All)
        {
            broker.CreateTopic(topic, Partitions);
        }

        return broker;
    }

    private static void ProduceGenerated(EmbeddedBroker broker, TopicOptions topics, long events)
    {
        using var file = new MemoryStream();
        TrafficGenerator.Write(file, new GeneratorOptions { Events = events, Buyers = (int)Math.Max(1000, events / 5), DuplicateRate = 0, InvalidRate = 0 });
        using var reader = new StreamReader(new MemoryStream(file.ToArray()));
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 20, QueueBufferingMaxMessages = 2_000_000 }).Build();
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var topic = topics.InputTopicOf(doc.RootElement.GetProperty("type").GetString());
            producer.Produce(topic, new Message<byte[], byte[]>
            {
                Key = Encoding.UTF8.GetBytes(doc.RootElement.GetProperty("buyerId").GetString()!),
                Value = Encoding.UTF8.GetBytes(line),
                Timestamp = new Timestamp(at = at.AddTicks(1)),
            });
        }

        producer.Flush(TimeSpan.FromMinutes(5));
    }

    /// <summary>A consumer group reading the four input topics to their end, touching every value: the ceiling.</summary>
    private static TimeSpan ConsumeOnly(EmbeddedBroker broker, TopicOptions topics, long events)
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
        while (seen < events)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record?.Message is { } message)
            {
                clock ??= Stopwatch.StartNew();
                bytes += message.Value.Length;
                seen++;
            }
        }

        consumer.Close();
        return clock!.Elapsed;
    }

    /// <summary>The worker over the same backlog, from its first record to every record committed.</summary>
    private static TimeSpan RunWorker(EmbeddedBroker broker, TopicOptions topics, long events)
    {
        var state = Path.Combine(Path.GetTempPath(), $"ss-bench-{Guid.NewGuid():N}");
        using var cancellation = new CancellationTokenSource();
        using var processor = new SegmentStreamProcessor(
            new SegmentStreamOptions { BootstrapServers = broker.BootstrapServers, GroupId = "bench", InstanceId = "bench", FollowWallClock = false },
            new SegmentPolicy(), new StateStoreOptions { Directory = state, MemoryBudgetBytes = 64L << 20 }, broker.BootstrapServers,
            NullLogger<SegmentStreamProcessor>.Instance);
        var thread = new Thread(() => processor.Run(cancellation.Token));
        thread.Start();
        Stopwatch? clock = null;
        long commitsAtEnd = -1;
        while (true)
        {
            Thread.Sleep(1);
            var counters = processor.Counters;
            if (clock is null && counters.RecordsConsumed > 0)
            {
                clock = Stopwatch.StartNew();
            }

            if (counters.RecordsConsumed >= events && commitsAtEnd < 0)
            {
                commitsAtEnd = counters.Commits;
            }

            if (commitsAtEnd >= 0 && counters.Commits > commitsAtEnd)
            {
                break;
            }
        }

        var elapsed = clock!.Elapsed;
        cancellation.Cancel();
        thread.Join();
        FasterBuyerStateStore.DeleteDirectory(state);
        return elapsed;
    }

    /// <summary>
    /// Demo events stamped with the wall clock at <paramref name="rate"/> per second; a read_committed reader
    /// measures, for each change caused by an event, the time from that event's instant (its produce time) to
    /// seeing the change.
    /// </summary>
    private static async Task MeasureLatencyAsync(EmbeddedBroker broker, TopicOptions topics, int rate, int seconds)
    {
        var state = Path.Combine(Path.GetTempPath(), $"ss-bench-{Guid.NewGuid():N}");
        using var cancellation = new CancellationTokenSource();
        using var processor = new SegmentStreamProcessor(
            new SegmentStreamOptions { BootstrapServers = broker.BootstrapServers, GroupId = "latency", InstanceId = "latency" },
            new SegmentPolicy(), new StateStoreOptions { Directory = state, MemoryBudgetBytes = 64L << 20 }, broker.BootstrapServers,
            NullLogger<SegmentStreamProcessor>.Instance);
        var worker = new Thread(() => processor.Run(cancellation.Token));
        worker.Start();
        while (!processor.IsReady || processor.Counters.Restores < Partitions)
        {
            await Task.Delay(100);
        }

        var latencies = new List<double>();
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
                            latencies.Add((DateTimeOffset.UtcNow - at).TotalMilliseconds);
                        }
                    }
                }
            }
        });
        reader.Start();

        var demo = new DemoTraffic(new DemoOptions { HistoryEvents = 0, EventsPerSecond = rate, Buyers = 200_000, Sellers = 200 }, topics, broker.BootstrapServers, TimeProvider.System, NullLogger<DemoTraffic>.Instance);
        using (var run = new CancellationTokenSource(TimeSpan.FromSeconds(seconds)))
        {
            try
            {
                await demo.ProduceLiveAsync(run.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Task.Delay(3000);
        cancellation.Cancel();
        reader.Join();
        worker.Join();
        FasterBuyerStateStore.DeleteDirectory(state);

        // The first seconds include the group's first join; the steady state is what is asked for.
        var steady = latencies.Skip(latencies.Count / 10).Order().ToList();
        Console.WriteLine(
            $"latency at {rate} events/s for {seconds} s ({demo.Produced} events, {steady.Count} event-caused changes after the first 10%): " +
            $"p50 {Percentile(steady, 0.5):F0} ms, p99 {Percentile(steady, 0.99):F0} ms, max {steady.LastOrDefault():F0} ms");
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, p * sorted.Count)];
}
