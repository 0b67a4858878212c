using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using StreamSegments.Core.Events;
using StreamSegments.Core.Rules;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Telemetry;

/// <summary>
/// The worker's metrics and traces, on <see cref="System.Diagnostics"/> only: the host decides what listens
/// (OpenTelemetry, dotnet-counters, nothing). One instance per worker; the loop thread writes, exporters read.
/// </summary>
/// <remarks>
/// Per-record counts are kept in plain arrays by the loop thread and read by observable instruments when an
/// exporter collects: a record costs an array increment, not an instrument call. Counts of what a transaction
/// published (changes) are folded in only when it commits, so an aborted transaction is never counted.
/// Names follow the OpenTelemetry messaging conventions where one exists (<c>messaging.*</c>); the rest are
/// <c>streamsegments.*</c>. Units are UCUM (<c>s</c>, <c>By</c>) or annotations (<c>{message}</c>).
/// </remarks>
public sealed class SegmentStreamTelemetry : IDisposable
{
    public const string MeterName = "StreamSegments";
    public const string ActivitySourceName = "StreamSegments";

    /// <summary>The reason an open transaction is aborted (<see cref="Aborted"/>): the group took partitions away.</summary>
    public const string PartitionsLost = "partitions-lost";

    /// <summary>Inputs record the producer's trace context under this header (W3C trace context); outputs carry the batch's on.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>A batch span links at most this many producing traces (OpenTelemetry's default link limit is 128).</summary>
    public const int MaxLinksPerBatch = 64;

    private const int Kinds = 7; // EventKind values 1..6, and 0 for a record that did not parse
    private const int Segments = TaskReadings.DirectSegments;

    // Seconds: sub-second for live traffic, up to days for a replay of old topics (event time is the producer's).
    private static readonly double[] LatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400];
    private static readonly double[] DurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly Meter meter;
    private readonly IReadOnlyList<string> inputs;
    private readonly KeyValuePair<string, object?> system = new("messaging.system", "kafka");
    private readonly KeyValuePair<string, object?> group;
    private readonly long[] consumed;
    private readonly long[] segmentChanges = new long[Segments * Segments];
    private readonly long[] interestChanges = new long[2];
    private readonly Counter<long> rejected;
    private readonly Counter<long> duplicates;
    private readonly Counter<long> forgottenEarly;
    private readonly Dictionary<(string Topic, string Reason), long> uncommittedRejects = [];
    private readonly long[] uncommittedDuplicates = new long[2];
    private readonly Counter<long> aborts;
    private readonly Counter<long> restoredRecords;
    private readonly Counter<long> inputRecordsLost;
    private readonly Histogram<double> latency;
    private readonly Histogram<double> commitDuration;
    private readonly Histogram<double> checkpointDuration;
    private readonly Histogram<double> restoreDuration;
    private readonly List<long> applied = [];
    private TaskReadings[] tasks = [];
    private LoopStatus? loop;
    private StreamCounters? counters;
    private Activity? batch;
    private bool batchStarted;
    private int batchLinks;

    /// <param name="meters">The host's meter factory; null creates the meter directly (tests, benchmarks).</param>
    /// <param name="options">The worker's options: topic and group names become attributes.</param>
    public SegmentStreamTelemetry(IMeterFactory? meters, SegmentStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        inputs = options.Topics.Inputs;
        group = new("messaging.consumer.group.name", options.GroupId);
        consumed = new long[inputs.Count * Kinds];
        var meterOptions = new MeterOptions(MeterName) { Version = Version };
        meter = meters?.Create(meterOptions) ?? new Meter(meterOptions);
        Traces = new ActivitySource(ActivitySourceName, Version);

        meter.CreateObservableCounter("messaging.client.consumed.messages", ObserveConsumed, "{message}",
            "Input records consumed, by topic and event type (invalid: the record did not parse).");
        rejected = meter.CreateCounter<long>("streamsegments.events.rejected", "{event}",
            "Input records sent to the dead-letter topic, by reason.");
        duplicates = meter.CreateCounter<long>("streamsegments.events.duplicates", "{event}",
            "Valid events ignored as duplicates: a seen eventId, or an order already counted for its (seller, orderId).");
        forgottenEarly = meter.CreateCounter<long>("streamsegments.event_ids.forgotten_early", "{id}",
            "Event ids forgotten before their events left the window, because their buyer had more than Policy:MaxRememberedEventIds (a crawler, an id shared by many): re-sends of those events are applied again.");
        meter.CreateObservableCounter("streamsegments.segment.changes", ObserveSegmentChanges, "{change}",
            "Committed segment changes of (seller, buyer) pairs, by segment left and entered (none for no segment).");
        meter.CreateObservableCounter("streamsegments.category_interest.changes", ObserveInterestChanges, "{change}",
            "Committed category interest changes of (category, buyer), entered or left.");
        meter.CreateObservableGauge("streamsegments.pairs", ObservePairs, "{pair}",
            "(seller, buyer) pairs per direct segment, per task (interested-categories is resolved on demand and not counted).");
        meter.CreateObservableGauge("messaging.kafka.consumer.lag", ObserveLagRecords, "{message}",
            "Records of an input partition not yet processed (high watermark minus next offset to process).");
        meter.CreateObservableGauge("streamsegments.consumer.lag.time", ObserveLagTime, "s",
            "How far an input partition is behind: the age of its oldest record not yet processed (by record timestamp), 0 when caught up.");
        meter.CreateObservableGauge("streamsegments.task.clock.lag", ObserveClockLag, "s",
            "Wall clock minus the task's event-time clock.");
        latency = meter.CreateHistogram("streamsegments.processing.latency", "s",
            "From an event's occurredAt to the commit of the transaction that applied it. The segment change it causes is published when the task's clock passes its millisecond: with the task's next record, or up to AllowedLatenessMs later on a quiet partition.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        commitDuration = meter.CreateHistogram("streamsegments.commit.duration", "s",
            "Duration of a commit: changelog, flush, markers, offsets and the transaction commit.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        aborts = meter.CreateCounter<long>("streamsegments.commit.aborts", "{transaction}",
            "Transactions aborted because partitions were lost (a failed commit ends the process instead).");
        checkpointDuration = meter.CreateHistogram("streamsegments.checkpoint.duration", "s",
            "Duration of a task's FASTER checkpoint.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        meter.CreateObservableGauge("streamsegments.checkpoint.size", ObserveCheckpointSize, "By",
            "Log bytes the task's newest checkpoint made durable (appended since the one before).");
        meter.CreateObservableGauge("streamsegments.checkpoint.age", ObserveCheckpointAge, "s",
            "Age of the task's oldest commit that no checkpoint covers yet (what a restore would replay from the changelog); 0 when none.");
        restoreDuration = meter.CreateHistogram("streamsegments.restore.duration", "s",
            "Duration of a task's restore: local checkpoint, then the changelog tail.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        restoredRecords = meter.CreateCounter<long>("streamsegments.restore.records", "{record}",
            "Changelog records applied by restores.");
        inputRecordsLost = meter.CreateCounter<long>("streamsegments.input.records.lost", "{record}",
            "Input offsets deleted from a partition (retention, DeleteRecords) before the worker read them: events never applied. Counted when found, by each process that finds them.");
        meter.CreateObservableGauge("streamsegments.state.buyers", ObserveBuyers, "{buyer}",
            "Buyer records in the task's state store.");
        meter.CreateObservableGauge("streamsegments.state.memory.size", ObserveMemory, "By",
            "The task's state store in memory: hash index plus the in-memory part of the log.");
        meter.CreateObservableGauge("streamsegments.state.disk.size", ObserveDisk, "By",
            "The task's state store log from its begin address to its tail (what lives on disk once flushed).");
        meter.CreateObservableGauge("streamsegments.tasks", () => Volatile.Read(ref tasks).Length, "{task}",
            "Tasks (partition numbers) this instance runs; reported from start, so its absence means the worker is gone.");

        // While an instance joins its group or restores, it has no task series: these say whether it is stuck there.
        meter.CreateObservableGauge("streamsegments.ready", () => Volatile.Read(ref loop) is { IsReady: true } ? 1 : 0, unit: null,
            "1 once the instance's tasks are assigned and restored, 0 while it joins its group or restores (/health/ready also fails while the loop is stuck).");
        meter.CreateObservableCounter("streamsegments.input.out_of_order_episodes",
            () => Volatile.Read(ref counters)?.OutOfOrderEpisodes ?? 0, "{episode}",
            "Times a task waited Kafka:MaxTaskIdleMs for an input partition that had delivered nothing and went on without it, taking records out of timestamp order (a live run may then differ from a replay).");
        meter.CreateObservableCounter("streamsegments.records.late",
            () => Volatile.Read(ref counters)?.LateRecords ?? 0, "{record}",
            "Valid input records older than their task's clock when applied, each stamped with the clock: stragglers of live traffic, or history reaching the topics out of occurredAt order (a replay of the same events would differ).");
        meter.CreateObservableCounter("streamsegments.input.records.stray",
            () => Volatile.Read(ref counters)?.StrayRecords ?? 0, "{record}",
            "Input records stamped more than Kafka:FollowWallClockWithinMs after the record behind them in their partition (a producer's clock, a timestamp of 0 made now), taken where they sat instead of holding the partition back.");
        meter.CreateObservableGauge("streamsegments.loop.heartbeat.age", ObserveHeartbeatAge, "s",
            "Seconds since the processing loop last went round or a restore last made progress; the loop goes round at least every 50 ms, so more than a few seconds means it is stuck.");
    }

    public static string Version { get; } = typeof(SegmentStreamTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public ActivitySource Traces { get; }

    /// <summary>The open batch's trace context as a <c>traceparent</c> header value; null when no batch is recorded.</summary>
    public byte[]? BatchTraceParent { get; private set; }

    /// <summary>The loop whose readiness, heartbeat and totals the instruments report (from when it starts).</summary>
    internal void Watch(LoopStatus status, StreamCounters totals)
    {
        Volatile.Write(ref counters, totals);
        Volatile.Write(ref loop, status);

        // A counter's series appears with its first value, which Prometheus' increase() takes as its baseline: from
        // 0, the first abort of a process counts. (Now, not at construction: the exporter listens by the time the loop runs.)
        aborts.Add(0, new KeyValuePair<string, object?>("error.type", PartitionsLost));
        foreach (var topic in inputs)
        {
            RecordLost(topic, 0);
        }
    }

    /// <summary>The tasks whose readings the gauges report; replaced (not mutated) by the loop thread on every rebalance.</summary>
    internal void Publish(IEnumerable<TaskReadings> current) => Volatile.Write(ref tasks, [.. current]);

    internal void RecordConsumed(int topic, EventKind kind) => consumed[(topic * Kinds) + (int)kind]++;

    internal void RecordApplied(long occurredAt)
    {
        if (latency.Enabled)
        {
            applied.Add(occurredAt);
        }
    }

    // Rejects and duplicates wait for the transaction like changes do: work redone after an abort is counted once.
    internal void RecordDuplicate(bool order) => uncommittedDuplicates[order ? 1 : 0]++;

    internal void RecordRejected(string topic, string reason) =>
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(uncommittedRejects, (topic, reason), out _)++;

    /// <summary>Whether anyone records spans: reading an input's trace context is worth it only then.</summary>
    internal bool Tracing => Traces.HasListeners();

    /// <summary>
    /// Starts the span of the batch the next commit closes, if nobody has yet; the input's producing trace, when the
    /// record carries one, becomes a link.
    /// </summary>
    internal void Batch(ReadOnlySpan<byte> traceParent)
    {
        if (!batchStarted)
        {
            // Once per batch, sampled or not: a sampler that drops it is not asked again for every record.
            batchStarted = true;
            batch = Traces.StartActivity("process batch", ActivityKind.Consumer);
            if (batch is null)
            {
                return;
            }

            batch.SetTag("messaging.system", "kafka");
            batch.SetTag("messaging.operation.type", "process");
            batch.SetTag(group.Key, group.Value);
            batchLinks = 0;
            BatchTraceParent = batch.Recorded ? Encoding.ASCII.GetBytes(batch.Id!) : null;
        }

        if (batch is not null && !traceParent.IsEmpty && batchLinks < MaxLinksPerBatch && batch.IsAllDataRequested
            && ActivityContext.TryParse(Encoding.ASCII.GetString(traceParent), null, out var producing))
        {
            batch.AddLink(new ActivityLink(producing));
            batchLinks++;
        }
    }

    /// <summary>A transaction committed: what it published is counted, its events' latency recorded, its span ended.</summary>
    internal void Committed(IReadOnlyCollection<PartitionTask> committed, CommitSummary summary, double seconds, long wallNowMs)
    {
        commitDuration.Record(seconds);
        long changes = 0;
        long interest = 0;
        foreach (var task in committed)
        {
            var (taskChanges, taskInterest) = task.Readings.FoldCommitted(segmentChanges, interestChanges);
            changes += taskChanges;
            interest += taskInterest;

            // A task's engine counts from its restore, and a task whose transaction aborts is dropped with its count.
            var forgotten = task.Engine.Counters.EventIdsForgottenEarly;
            if (forgotten > task.ForgottenEarly.Committed)
            {
                forgottenEarly.Add(forgotten - task.ForgottenEarly.Committed);
                task.ForgottenEarly.Committed = forgotten;
            }
        }

        foreach (var occurredAt in applied)
        {
            latency.Record((wallNowMs - occurredAt) / 1000.0);
        }

        applied.Clear();
        FoldRejectsAndDuplicates();
        if (batch is { } span)
        {
            span.SetTag("messaging.batch.message_count", summary.Records);
            span.SetTag("streamsegments.segment_changes", changes);
            span.SetTag("streamsegments.category_interest_changes", interest);
            span.SetTag("streamsegments.dead_letters", summary.DeadLetters);
            span.SetTag("streamsegments.tasks", committed.Count);
            span.SetTag("streamsegments.records_produced", summary.RecordsProduced);
        }

        EndBatch(null, committed: true);
    }

    /// <summary>The work since the last commit was discarded (its transaction, if one was open, aborted): none of it is counted.</summary>
    internal void Aborted(IEnumerable<PartitionTask> tasksOfTransaction, string reason, bool transactionOpen)
    {
        if (transactionOpen)
        {
            aborts.Add(1, new KeyValuePair<string, object?>("error.type", reason));
        }

        foreach (var task in tasksOfTransaction)
        {
            task.Readings.DiscardUncommitted();
        }

        applied.Clear();
        uncommittedRejects.Clear();
        Array.Clear(uncommittedDuplicates);
        EndBatch(reason);
    }

    private void FoldRejectsAndDuplicates()
    {
        foreach (var ((topic, reason), count) in uncommittedRejects)
        {
            rejected.Add(count, new("error.type", reason), new("messaging.destination.name", topic), system);
        }

        uncommittedRejects.Clear();
        for (var kind = 0; kind < uncommittedDuplicates.Length; kind++)
        {
            if (uncommittedDuplicates[kind] > 0)
            {
                duplicates.Add(uncommittedDuplicates[kind], new KeyValuePair<string, object?>("streamsegments.duplicate.kind", kind == 1 ? "order-id" : "event-id"));
                uncommittedDuplicates[kind] = 0;
            }
        }
    }

    /// <summary>
    /// Ends the open batch's span (whether sampled or not, so the next batch starts a new one): failed with
    /// <paramref name="error"/>, or committed, or neither (nothing happened: then it is not exported).
    /// </summary>
    internal void EndBatch(string? error, bool committed = false)
    {
        batchStarted = false;
        BatchTraceParent = null;
        if (batch is null)
        {
            return;
        }

        if (error is not null)
        {
            batch.SetStatus(ActivityStatusCode.Error, error);
        }
        else if (!committed)
        {
            // Exporters skip activities that are not recorded; this is how a started span is dropped.
            batch.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            batch.IsAllDataRequested = false;
        }

        batch.Dispose();
        batch = null;
    }

    internal void Checkpointed(int task, double seconds) =>
        checkpointDuration.Record(seconds, new KeyValuePair<string, object?>("streamsegments.task", task));

    internal void Restored(int task, double seconds, long records)
    {
        restoreDuration.Record(seconds, new KeyValuePair<string, object?>("streamsegments.task", task));
        restoredRecords.Add(records, new KeyValuePair<string, object?>("streamsegments.task", task));
    }

    /// <summary>By topic only (the log names the partition), so that every series can start at 0 (<see cref="Watch"/>).</summary>
    internal void RecordLost(string topic, long records) =>
        inputRecordsLost.Add(records, new("messaging.destination.name", topic), system);

    /// <summary>Disposes the meter and activity source; the loop ends its open batch itself (<see cref="EndBatch"/>).</summary>
    public void Dispose()
    {
        Traces.Dispose();
        meter.Dispose();
    }

    private IEnumerable<Measurement<long>> ObserveConsumed()
    {
        for (var topic = 0; topic < inputs.Count; topic++)
        {
            for (var kind = 0; kind < Kinds; kind++)
            {
                var count = Volatile.Read(ref consumed[(topic * Kinds) + kind]);
                if (count > 0)
                {
                    yield return new(count, system, group, new("messaging.destination.name", inputs[topic]),
                        new("streamsegments.event.type", kind == 0 ? "invalid" : ((EventKind)kind).ToWireName()));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveSegmentChanges()
    {
        for (var from = 0; from < Segments; from++)
        {
            for (var to = 0; to < Segments; to++)
            {
                var count = Volatile.Read(ref segmentChanges[(from * Segments) + to]);
                if (count > 0)
                {
                    yield return new(count, new("streamsegments.segment.from", Name((Segment)from)), new("streamsegments.segment.to", Name((Segment)to)));
                }
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveInterestChanges()
    {
        yield return new(Volatile.Read(ref interestChanges[0]), new KeyValuePair<string, object?>("streamsegments.change", "left"));
        yield return new(Volatile.Read(ref interestChanges[1]), new KeyValuePair<string, object?>("streamsegments.change", "entered"));
    }

    private IEnumerable<Measurement<long>> ObservePairs()
    {
        foreach (var task in Volatile.Read(ref tasks))
        {
            for (var segment = 1; segment < Segments; segment++)
            {
                yield return new(task.PairsIn((Segment)segment), Task(task), new("streamsegments.segment", Name((Segment)segment)));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveLagRecords()
    {
        foreach (var task in Volatile.Read(ref tasks))
        {
            for (var topic = 0; topic < inputs.Count; topic++)
            {
                if (task.LagRecords(topic) is { } lag and >= 0)
                {
                    yield return new(lag, system, group, new("messaging.destination.name", inputs[topic]), Partition(task));
                }
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveLagTime()
    {
        foreach (var task in Volatile.Read(ref tasks))
        {
            for (var topic = 0; topic < inputs.Count; topic++)
            {
                if (task.LagMs(topic) >= 0)
                {
                    yield return new(task.LagMs(topic) / 1000.0, system, group, new("messaging.destination.name", inputs[topic]), Partition(task));
                }
            }
        }
    }

    private IEnumerable<Measurement<double>> ObserveClockLag() => Observe<double>(t => t.ClockLagMs / 1000.0);

    private IEnumerable<Measurement<long>> ObserveCheckpointSize() => Observe(t => t.CheckpointBytes);

    private IEnumerable<Measurement<double>> ObserveCheckpointAge() =>
        Observe<double>(t => t.UncheckpointedSinceTicks is { } since ? (Environment.TickCount64 - since) / 1000.0 : 0);

    private IEnumerable<Measurement<long>> ObserveBuyers() => Observe<long>(t => t.Buyers);

    private IEnumerable<Measurement<double>> ObserveHeartbeatAge() =>
        Volatile.Read(ref loop) is { } running
            ? [new Measurement<double>(running.SilentFor.TotalSeconds)]
            : [];

    private IEnumerable<Measurement<long>> ObserveMemory() => Observe<long>(t => t.MemoryBytes);

    private IEnumerable<Measurement<long>> ObserveDisk() => Observe<long>(t => t.DiskBytes);

    /// <summary>One measurement per task, attributed to it; a task with no value yet (null) is left out.</summary>
    private IEnumerable<Measurement<T>> Observe<T>(Func<TaskReadings, T?> read)
        where T : struct
    {
        foreach (var task in Volatile.Read(ref tasks))
        {
            if (read(task) is { } value)
            {
                yield return new(value, Task(task));
            }
        }
    }

    private static KeyValuePair<string, object?> Task(TaskReadings task) => new("streamsegments.task", task.Task);

    private static KeyValuePair<string, object?> Partition(TaskReadings task) => new("messaging.destination.partition.id", task.PartitionId);

    private static string Name(Segment segment) => segment == Segment.None ? "none" : segment.ToWireName();
}

/// <summary>What one commit published, for its span.</summary>
internal readonly record struct CommitSummary(long Records, long DeadLetters, long RecordsProduced);
