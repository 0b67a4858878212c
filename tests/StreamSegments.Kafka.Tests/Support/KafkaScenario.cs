using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Tests.Support;

/// <summary>
/// An embedded broker with the product's topics, input produced the way a marketplace would (keyed by buyer,
/// routed by event type, record timestamps in arrival order), and read_committed readers of the outputs.
/// </summary>
public sealed class KafkaScenario : IDisposable
{
    public KafkaScenario(int partitions = 3)
    {
        Partitions = partitions;
        foreach (var topic in Topics.All)
        {
            Broker.CreateTopic(topic, partitions);
        }
    }

    public EmbeddedBroker Broker { get; } = new();

    public int Partitions { get; }

    public TopicOptions Topics { get; } = new();

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), $"ss-kafka-{Guid.NewGuid():N}");

    /// <summary>The input topic an event's type belongs on; lines that are not JSON with a type go to the orders topic.</summary>
    public string TopicOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var type = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()
                : null;
            return Topics.InputTopicOf(type);
        }
        catch (JsonException)
        {
            return Topics.OrdersPaid;
        }
    }

    public static byte[]? KeyOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("buyerId", out var b) && b.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(b.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Produces the lines in order; record timestamps increase by one millisecond per line (arrival order).
    /// <paramref name="headersOf"/> may give a line (by its index) headers, e.g. a producer's trace context.
    /// </summary>
    public void Produce(IEnumerable<string> lines, DateTimeOffset firstTimestamp, Func<int, Headers?>? headersOf = null)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            EnableIdempotence = true,
            LingerMs = 5,
            MessageMaxBytes = 4 << 20,
        }).Build();
        var at = firstTimestamp;
        var index = 0;
        foreach (var line in lines)
        {
            producer.Produce(TopicOf(line), new Message<byte[]?, byte[]>
            {
                Key = KeyOf(line),
                Value = Encoding.UTF8.GetBytes(line),
                Timestamp = new Timestamp(at),
                Headers = headersOf?.Invoke(index++),
            });
            at = at.AddMilliseconds(1);
        }

        if (producer.Flush(TimeSpan.FromSeconds(60)) != 0)
        {
            throw new InvalidOperationException("Input was not fully produced.");
        }
    }

    /// <summary>
    /// The worker's options for a test. With <paramref name="successiveRuns"/>, short sessions: a run joining the group
    /// a previous one (or a second instance) just left waits out the leaver's session on the embedded broker (README).
    /// </summary>
    public SegmentStreamOptions Options(TimeProvider? wallClock = null, bool successiveRuns = false)
    {
        var options = Options(wallClock);
        if (successiveRuns)
        {
            options.Client["session.timeout.ms"] = "6000";
            options.Client["heartbeat.interval.ms"] = "500";
        }

        return options;
    }

    private SegmentStreamOptions Options(TimeProvider? wallClock) => new()
    {
        BootstrapServers = Broker.BootstrapServers,
        GroupId = "segments-test",
        InstanceId = "test",
        Topics = Topics,
        CommitIntervalMs = 100,
        FollowWallClock = wallClock is not null,
        AllowedLatenessMs = 0,

        // The tests move their wall clocks by days in one step, standing for the days a live worker follows.
        FollowWallClockWithinMs = long.MaxValue,
        MaxFutureSkewMs = 3_600_000,

        // Outputs are compared with the rules' (fixture) or another run's: on a loaded machine a partition's first
        // fetch can take longer than the 2 s default, after which a task would take the other topics' records out
        // of timestamp order.
        MaxTaskIdleMs = 30_000,

        // The embedded broker does not isolate transactions (the option's documentation says why that matters).
        DeliverBeforeMarkers = true,
    };

    public StateStoreOptions StateOptions() => new() { Directory = StateDirectory, MemoryBudgetBytes = 8L << 20 };

    /// <summary>Starts a worker in this process, on a thread of its own; disposing it stops it gracefully.</summary>
    public RunningWorker StartWorker(
        SegmentStreamOptions? options = null, TimeProvider? wallClock = null, SegmentStreamTelemetry? telemetry = null,
        ILogger<SegmentStreamProcessor>? logger = null, SegmentPolicy? policy = null, StateStoreOptions? state = null) =>
        new(new SegmentStreamProcessor(
            options ?? Options(wallClock), policy ?? new SegmentPolicy(), state ?? StateOptions(),
            logger ?? NullLogger<SegmentStreamProcessor>.Instance, wallClock, telemetry));

    /// <summary>
    /// Runs a worker in this process until every input record is committed and the outputs have been quiet for a
    /// while, then stops it gracefully. <paramref name="whileQuiet"/> sees the worker once it is quiet, still running.
    /// </summary>
    public StreamCounters RunWorkerUntilQuiet(
        long expectedInputRecords, TimeProvider? wallClock = null, SegmentStreamOptions? options = null,
        SegmentStreamTelemetry? telemetry = null, Action<SegmentStreamProcessor>? whileQuiet = null, SegmentPolicy? policy = null)
    {
        using var worker = StartWorker(options, wallClock, telemetry, policy: policy);
        WaitUntilQuiet(worker.Processor, expectedInputRecords, () => worker.Failure is not null);
        if (worker.Failure is null)
        {
            whileQuiet?.Invoke(worker.Processor);
        }

        worker.Stop();
        return worker.Processor.Counters;
    }

    /// <summary>
    /// Runs a worker with nothing new to read until it has restored every task and gone quiet, then stops it
    /// (waiting for quiet alone could stop it before the group has even assigned it its tasks).
    /// </summary>
    public StreamCounters RunRestoredWorkerUntilQuiet(TimeProvider wallClock, SegmentStreamOptions options, SegmentPolicy? policy = null)
    {
        using var worker = StartWorker(options, wallClock, policy: policy);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (worker.Processor.Counters.Restores < Partitions && worker.Failure is null && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        Assert.Null(worker.Failure);
        Assert.Equal(Partitions, worker.Processor.Counters.Restores);
        WaitUntilQuiet(worker.Processor);
        worker.Stop();
        return worker.Processor.Counters;
    }

    /// <summary>Waits (at most a minute) until <paramref name="condition"/> holds, failing the test naming <paramref name="what"/> if it never does.</summary>
    public static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after 60 s waiting for {what}");
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// Waits (at most 2 minutes) until a running worker has consumed <paramref name="expectedInputRecords"/> and then
    /// made no commit for 1.5 s, its loop going round all the while, or until <paramref name="failed"/>.
    /// </summary>
    public static void WaitUntilQuiet(SegmentStreamProcessor processor, long expectedInputRecords = 0, Func<bool>? failed = null)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        long lastCommits = -1;
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline && failed?.Invoke() != true)
        {
            Thread.Sleep(200);
            var counters = processor.Counters;

            // An idle loop goes round every 50 ms at most: one silent for longer is in a call (a restore, a slow
            // commit on a loaded machine) that may still publish, and is not quiet.
            if (counters.Commits != lastCommits || processor.Status.SilentFor > TimeSpan.FromMilliseconds(200))
            {
                lastCommits = counters.Commits;
                quietSince = DateTime.UtcNow;
            }
            else if (counters.RecordsConsumed >= expectedInputRecords && DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(1.5))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Every record of a topic, as a read_committed consumer sees it, from all partitions. Fails rather than
    /// return part of it: the embedded broker drops a partition's oldest records past 5 MiB (give a scenario
    /// enough partitions for what it writes), and a partition that never reaches its end is not read whole.
    /// </summary>
    public List<ConsumeResult<byte[]?, byte[]?>> ReadCommitted(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
            EnableAutoCommit = false,
        }).Build();
        for (var partition = 0; partition < Partitions; partition++)
        {
            var start = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(30)).Low.Value;
            if (start > 0)
            {
                throw new InvalidOperationException(
                    $"The embedded broker dropped the first {start} records of {topic} [{partition}] (over its 5 MiB per partition); give the scenario more partitions.");
            }
        }

        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ended.Count < Partitions && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                ended.Add(record.Partition.Value);
            }
            else
            {
                records.Add(record);
            }
        }

        if (ended.Count < Partitions)
        {
            throw new TimeoutException($"{topic}: only partitions {string.Join(",", ended.Order())} of {Partitions} were read to their end within 60 s.");
        }

        return records;
    }

    /// <summary>The named fields of each JSON value, as sortable strings (outputs are compared as multisets).</summary>
    public static List<string> Rows(IEnumerable<byte[]?> values, params string[] fields) =>
        values.Select(v =>
            {
                using var doc = JsonDocument.Parse(v!);
                return string.Join("|", fields.Select(f => doc.RootElement.TryGetProperty(f, out var x) ? x.ToString() : "<missing>"));
            })
            .Order(StringComparer.Ordinal)
            .ToList();

    public static List<string> Rows(string jsonLinesFile, params string[] fields) =>
        Rows(File.ReadLines(jsonLinesFile).Select(Encoding.UTF8.GetBytes), fields);

    public void Dispose()
    {
        Broker.Dispose();
        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
    }
}

/// <summary>A <see cref="SegmentStreamProcessor"/> running on a thread of its own.</summary>
public sealed class RunningWorker : IDisposable
{
    private readonly CancellationTokenSource cancellation = new();
    private readonly Thread thread;

    public RunningWorker(SegmentStreamProcessor processor)
    {
        Processor = processor;
        thread = new Thread(() =>
        {
            try
            {
                processor.Run(cancellation.Token);
            }
            catch (Exception ex)
            {
                Failure = ex;
            }
        })
        { IsBackground = true };
        thread.Start();
    }

    public SegmentStreamProcessor Processor { get; }

    /// <summary>What ended the worker's loop with an error, if anything did.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Stops the loop gracefully (commit, checkpoint, leave the group); throws if it had failed.</summary>
    public void Stop()
    {
        Halt();
        if (Failure is not null)
        {
            throw new InvalidOperationException("The worker failed.", Failure);
        }
    }

    public void Dispose()
    {
        Halt();
        Processor.Dispose();
        cancellation.Dispose();
    }

    private void Halt()
    {
        cancellation.Cancel();
        thread.Join(TimeSpan.FromSeconds(60));
    }
}

/// <summary>A wall clock stopped at one instant.</summary>
public sealed class StoppedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>A wall clock that stays where the test last put it; read from the worker's thread.</summary>
public sealed class MovableClock(DateTimeOffset start) : TimeProvider
{
    private long unixMs = start.ToUnixTimeMilliseconds();

    public DateTimeOffset Now
    {
        get => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref unixMs));
        set => Interlocked.Exchange(ref unixMs, value.ToUnixTimeMilliseconds());
    }

    public override DateTimeOffset GetUtcNow() => Now;
}
