using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamSegments.Core;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The worker's processing loop: one consumer over the co-partitioned input topics, one task per assigned
/// partition number, one transactional producer. Records are taken per task in timestamp order, applied to the
/// task's engine, and every commit interval the outputs, changelog and input offsets are committed in one
/// transaction. Runs on the thread that calls <see cref="Run"/> (rebalance callbacks included).
/// </summary>
public sealed partial class SegmentStreamProcessor : IDisposable
{
    private static readonly TimeSpan MinimumPoll = TimeSpan.FromMilliseconds(1);

    private readonly SegmentStreamOptions options;
    private readonly SegmentPolicy policy;
    private readonly StateStoreOptions stateOptions;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly Dictionary<string, int> inputIndex;
    private readonly SortedDictionary<int, PartitionTask> tasks = [];
    private readonly Stopwatch monotonic = Stopwatch.StartNew();
    private readonly SegmentStreamTelemetry telemetry;
    private readonly bool ownsTelemetry;
    private IConsumer<byte[]?, byte[]?>? consumer;
    private IConsumer<byte[]?, byte[]?>? changelogReader;
    private IAdminClient? admin;
    private OutputProducer? producer;
    private TaskRestorer? restorer;
    private TaskCheckpoints? checkpoints;
    private readonly TaskReports reports;
    private readonly WallClockFollower wallClock;
    private long nextCommitAt;
    private CancellationToken stopping;
    private int inputPartitions;

    public SegmentStreamProcessor(
        SegmentStreamOptions options, SegmentPolicy policy, StateStoreOptions stateOptions,
        ILogger<SegmentStreamProcessor> logger, TimeProvider? time = null, SegmentStreamTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        this.policy = policy;
        this.stateOptions = stateOptions;
        ArgumentException.ThrowIfNullOrWhiteSpace(options.BootstrapServers, "options.BootstrapServers");
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        ownsTelemetry = telemetry is null;
        this.telemetry = telemetry ?? new SegmentStreamTelemetry(null, options);
        inputIndex = options.Topics.Inputs.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        reports = new TaskReports(options, policy, monotonic, Counters, logger);
        wallClock = new WallClockFollower(options, this.time, this.telemetry, Counters, logger);
    }

    /// <summary>Totals since start, readable from any thread.</summary>
    public StreamCounters Counters { get; } = new();

    /// <summary>What the loop is doing and whether it is ready, readable from any thread.</summary>
    public LoopStatus Status { get; } = new();

    private long batchRecords;
    private long batchDeadLetters;

    /// <summary>Processes until <paramref name="cancellationToken"/> is cancelled, then commits, checkpoints and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        stopping = cancellationToken;
        telemetry.Watch(Status, Counters);
        using var hold = StateDirectoryLock.Acquire(stateOptions.Directory);
        admin = new AdminClientBuilder(ClientConfigs.Admin(options))
            .SetLogHandler((_, message) => ClientLog.Write(logger, message))
            .Build();
        inputPartitions = CheckTopics(admin);
        producer = new OutputProducer(options, logger);
        changelogReader = new ConsumerBuilder<byte[]?, byte[]?>(ClientConfigs.ChangelogReader(options))
            .SetLogHandler((_, message) => ClientLog.Write(logger, message))
            .Build();
        checkpoints = new TaskCheckpoints(options, telemetry, time, monotonic, Counters, Status.Enter, logger);
        restorer = new TaskRestorer(options, policy, stateOptions, changelogReader, admin, producer, telemetry, time, monotonic, Counters, logger);
        consumer = new ConsumerBuilder<byte[]?, byte[]?>(ClientConfigs.Inputs(options))
            .SetPartitionsAssignedHandler((_, assigned) => OnAssigned(assigned))
            .SetPartitionsRevokedHandler((_, revoked) => OnRevoked(revoked))
            .SetPartitionsLostHandler((_, lost) => OnLost(lost))
            .SetLogHandler((_, message) => ClientLog.Write(logger, message))
            .Build();
        consumer.Subscribe(options.Topics.Inputs);
        LogStarted(options.GroupId, options.TransactionalId, inputPartitions);

        try
        {
            nextCommitAt = monotonic.ElapsedMilliseconds + options.CommitIntervalMs;
            while (!cancellationToken.IsCancellationRequested)
            {
                Status.Progressed();
                Status.Enter("polling");
                Poll(TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(nextCommitAt - monotonic.ElapsedMilliseconds, 50))));
                Status.Enter("processing");
                Process();
                if (monotonic.ElapsedMilliseconds >= nextCommitAt)
                {
                    wallClock.Follow(tasks.Values);
                    Status.Enter("committing");
                    Commit();
                    RefreshReadings();
                    reports.Report(tasks.Values);
                    checkpoints!.CheckpointDue(tasks.Values, force: false);
                    nextCommitAt = monotonic.ElapsedMilliseconds + options.CommitIntervalMs;
                }
            }

            Commit();
            checkpoints!.CheckpointDue(tasks.Values, force: true);
            consumer.Close();
            LogStopped(Counters.RecordsConsumed, Counters.Commits);
        }
        catch (Exception ex)
        {
            telemetry.EndBatch(ex.GetType().Name);
            throw;
        }
        finally
        {
            foreach (var task in tasks.Values)
            {
                task.Dispose();
            }

            tasks.Clear();
            telemetry.EndBatch(null);
            telemetry.Publish([]);
            Status.Ready(false);
        }
    }

    public void Dispose()
    {
        consumer?.Dispose();
        changelogReader?.Dispose();
        admin?.Dispose();
        producer?.Dispose();
        if (ownsTelemetry)
        {
            telemetry.Dispose();
        }
    }

    /// <summary>Takes what the consumer has (up to a batch), waiting at most <paramref name="wait"/> for the first record.</summary>
    /// <remarks>
    /// Never with a zero timeout. librdkafka runs the rebalance callbacks (a task's restore, the commit before a
    /// revocation) inside this call, and counts the call as the application waiting on the client only when it has
    /// a timeout (<c>rd_kafka_app_poll_start</c>). Inside a zero-timeout call the callback's time counts against
    /// <c>max.poll.interval.ms</c>, so under load a restore longer than that (5 minutes by default) would get the
    /// instance evicted from the group just as it finished, and its tasks restored again elsewhere. A millisecond
    /// is waited only when the consumer has nothing to hand out.
    /// </remarks>
    private void Poll(TimeSpan wait)
    {
        for (var i = 0; i < 1024; i++)
        {
            var record = consumer!.Consume(i == 0 ? wait : MinimumPoll);
            if (record is null)
            {
                return;
            }

            if (!tasks.TryGetValue(record.Partition.Value, out var task) || !inputIndex.TryGetValue(record.Topic, out var topic))
            {
                continue;
            }

            AccountForGap(task, topic, record.TopicPartitionOffset, record.IsPartitionEOF);
            if (record.IsPartitionEOF)
            {
                task.Inputs.MarkEnd(topic);
                task.SkipToFetchPosition(topic);
                continue;
            }

            task.Inputs.Enqueue(topic, record);
            if (task.Inputs.BufferedFor(topic) == options.MaxBufferedPerPartition)
            {
                consumer.Pause([record.TopicPartition]);
            }
        }
    }

    /// <summary>
    /// Counts and reports input records deleted before they were read. Reading on past a gap is normal (a transaction's
    /// commit marker takes an offset, aborted and compacted records are skipped), but when the partition's log now
    /// starts beyond where reading was to go on, retention (or a DeleteRecords) removed records this worker never
    /// applied, and the client went on from the log's start (<c>auto.offset.reset</c>). Those events are gone from
    /// Kafka: the segments they would have changed are wrong until later events or time correct them, and only an
    /// operator can say whether to re-send them, so the loss is counted, logged as an error and alerted on.
    /// </summary>
    private void AccountForGap(PartitionTask task, int topic, TopicPartitionOffset handedOut, bool endOfPartition)
    {
        var expected = task.FetchPositions[topic];
        var offset = handedOut.Offset.Value;
        task.FetchPositions[topic] = endOfPartition ? offset : offset + 1;
        if (expected < 0 || offset <= expected)
        {
            return;
        }

        // The client keeps the log start offset of the partition's latest fetch response: no request to the broker.
        var logStart = consumer!.GetWatermarkOffsets(handedOut.TopicPartition).Low.Value;
        if (logStart <= expected)
        {
            return;
        }

        // Offsets, not events: a transaction marker among them counts too.
        var lost = Math.Min(logStart, offset) - expected;
        Counters.InputRecordsLost += lost;
        telemetry.RecordLost(handedOut.Topic, lost);
        LogInputRecordsLost(handedOut.Topic, handedOut.Partition.Value, expected, expected + lost - 1, lost, offset);
    }

    private void Process()
    {
        var now = monotonic.ElapsedMilliseconds;
        foreach (var task in tasks.Values)
        {
            // What a re-evaluation or a fact handover publishes belongs to the batch the next commit closes, and
            // carries its trace context like a record's changes.
            if (task.PendingReevaluation is not null)
            {
                telemetry.Batch(default);
                if (!Reevaluate(task))
                {
                    continue;
                }
            }

            if (task.PendingTableFill is not null)
            {
                telemetry.Batch(default);
                if (!FillTables(task))
                {
                    continue;
                }
            }

            if (task.UnpublishedFacts is { } facts)
            {
                telemetry.Batch(default);
                // Once per task after an upgrade, a batch per pass as for re-evaluation, so that no transaction grows
                // with the catalog: each fact is stored as handed in the transaction that publishes it.
                var batch = Math.Min(facts.Count, 4096);
                for (var i = facts.Count - batch; i < facts.Count; i++)
                {
                    task.Engine.HandOverLearned(facts[i].Seller, facts[i].Category);
                }

                facts.RemoveRange(facts.Count - batch, batch);
                task.HandedOverFacts += batch;
                if (facts.Count == 0)
                {
                    task.UnpublishedFacts = null;
                    LogFactsHandedOver(task.Partition, task.HandedOverFacts);
                }
            }

            var processed = 0;
            var episodes = task.Inputs.OutOfOrderEpisodes;
            var strays = task.Inputs.Strays;
            while (processed < 4096 && task.Inputs.TryTakeNext(now, options.MaxTaskIdleMs, options.CaughtUpIdleMs, options.FollowWallClockWithinMs, out var topic, out var record))
            {
                if (task.Inputs.OutOfOrderEpisodes != episodes)
                {
                    episodes = task.Inputs.OutOfOrderEpisodes;
                    Counters.OutOfOrderEpisodes++;
                    LogOutOfOrder(task.Partition, options.MaxTaskIdleMs);
                }

                Apply(task, topic, record);
                processed++;
                if (task.Inputs.BufferedFor(topic) == options.MaxBufferedPerPartition / 2)
                {
                    consumer!.Resume([record.TopicPartition]);
                }
            }

            Counters.StrayRecords += task.Inputs.Strays - strays;
        }
    }

    /// <summary>Re-evaluates a batch of the task's pending buyers; true once none is left.</summary>
    private bool Reevaluate(PartitionTask task)
    {
        var pending = task.PendingReevaluation!;
        for (var i = 0; i < 4096 && pending.TryDequeue(out var buyer); i++)
        {
            task.Engine.Reevaluate(buyer);
        }

        // A write that published nothing (pruning under the new thresholds) is committed too, before any checkpoint.
        task.Dirty |= task.Changelog.Count > 0;
        if (pending.Count > 0)
        {
            return false;
        }

        task.PendingReevaluation = null;
        task.PublishedPolicy = policy.Fingerprint();
        task.Dirty = true; // its next marker says so, even when nothing changed
        LogReevaluated(task.Partition, task.Engine.Counters.SegmentChanges + task.Engine.Counters.CategoryInterestChanges - task.ChangesBeforeReevaluation);
        return true;
    }

    /// <summary>Restates a batch of the task's buyers to the current-state tables; true once none is left.</summary>
    private bool FillTables(PartitionTask task)
    {
        var pending = task.PendingTableFill!;
        for (var i = 0; i < options.RestateBatchBuyers && pending.TryDequeue(out var buyer); i++)
        {
            task.Engine.Restate(buyer);
        }

        task.Dirty = true; // the last batch's marker says the tables are whole, even when it restated nothing
        if (pending.Count > 0)
        {
            return false;
        }

        task.PendingTableFill = null;
        task.PublishedTables = options.Topics.TablesFingerprint();
        LogTablesFilled(task.Partition, task.TableFillRecords);
        return true;
    }

    private void Apply(PartitionTask task, int topic, ConsumeResult<byte[]?, byte[]?> record)
    {
        Counters.RecordsConsumed++;
        task.NextOffsets[topic] = record.Offset.Value + 1;
        task.SkipToFetchPosition(topic);
        task.LastTimestamps[topic] = record.Message.Timestamp.UnixTimestampMs;
        task.Dirty = true;
        batchRecords++;
        telemetry.Batch(telemetry.Tracing && record.Message.Headers is { Count: > 0 } inputHeaders
            && inputHeaders.TryGetLastBytes(SegmentStreamTelemetry.TraceParentHeader, out var traceParent) ? traceParent : default);
        var value = record.Message.Value ?? [];
        if (value.Length > EventParser.MaxEventBytes)
        {
            telemetry.RecordConsumed(topic, default);
            DeadLetter(task, record, EventParser.TooLarge);
            return;
        }

        var e = task.Scratch;
        if (!task.Parser.TryParse(value, e, out var rejection))
        {
            telemetry.RecordConsumed(topic, default);
            DeadLetter(task, record, rejection);
            return;
        }

        telemetry.RecordConsumed(topic, e.Kind);

        var wallNow = time.GetUtcNow().ToUnixTimeMilliseconds();
        task.LastRecordAt = wallNow;
        if (e.OccurredAt > wallNow + options.MaxFutureSkewMs)
        {
            DeadLetter(task, record, new EventRejection(RejectReason.InFuture, "occurredAt", $"more than {options.MaxFutureSkewMs} ms ahead of the wall clock"));
            return;
        }

        if (record.Message.Key is not { } key || !e.BuyerId.SequenceEqual(key))
        {
            // The partition is chosen by the key; a record keyed otherwise may sit in another task than its buyer.
            DeadLetter(task, record, new EventRejection(RejectReason.KeyMismatch));
            return;
        }

        if (options.InputPartitioner != InputPartitioner.Any
            && KeyPartitioning.PartitionOf(options.InputPartitioner, key, inputPartitions) is var expected && expected != record.Partition.Value)
        {
            DeadLetter(task, record, new EventRejection(RejectReason.WrongPartition, Detail: $"the {options.InputPartitioner.ToString().ToLowerInvariant()} partitioner puts this key on partition {expected}, whose task holds the buyer"));
            return;
        }

        // Applied all the same, stamped with the clock (SegmentTask.Apply): counted, and reported when far off, because
        // history that reaches the topics out of occurredAt order is otherwise rewritten without a trace.
        var lateness = task.Engine.Clock.HasStarted ? task.Engine.Clock.Now - e.OccurredAt : 0;
        if (lateness > 0)
        {
            Counters.LateRecords++;
            task.LateRecords.Add(lateness);
        }

        switch (task.Engine.Apply(e))
        {
            case Core.Processing.ApplyOutcome.Applied:
                Counters.EventsApplied++;
                telemetry.RecordApplied(e.OccurredAt);
                break;
            case var duplicate:
                Counters.Duplicates++;
                telemetry.RecordDuplicate(order: duplicate == Core.Processing.ApplyOutcome.DuplicateOrder);
                break;
        }
    }

    private void DeadLetter(PartitionTask task, ConsumeResult<byte[]?, byte[]?> record, EventRejection rejection)
    {
        Counters.DeadLettered++;
        batchDeadLetters++;
        telemetry.RecordRejected(record.Topic, rejection.Code);
        var letter = DeadLetterRecord.From(record, rejection, task.Sink.Headers(), options.DeadLetterMaxBytes);
        producer!.Produce(options.Topics.DeadLetter, letter.Key, letter.Value, letter.Headers);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogDeadLettered(record.TopicPartitionOffset.ToString(), rejection.Code, rejection.Message);
        }
    }

    private void Commit()
    {
        if (tasks.Values.All(t => !t.Dirty) && !producer!.InTransaction)
        {
            telemetry.EndBatch(null);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var markerOffsets = new Dictionary<int, long>();
        var dirty = tasks.Values.Where(t => t.Dirty).ToList();
        foreach (var task in dirty)
        {
            task.WriteChangelog(producer!, options.Topics.Changelog);
        }

        if (options.DeliverBeforeMarkers)
        {
            producer!.Flush();
        }

        foreach (var task in dirty)
        {
            var partition = task.Partition;
            task.WriteMarker(producer!, options.Topics.Changelog, offset =>
            {
                lock (markerOffsets)
                {
                    markerOffsets[partition] = offset;
                }
            });
        }

        var offsets = tasks.Values
            .SelectMany(t => t.NextOffsets.Select((next, topic) => (t.Partition, Topic: options.Topics.Inputs[topic], Next: next)))
            .Where(o => o.Next >= 0)
            .Select(o => new TopicPartitionOffset(o.Topic, o.Partition, o.Next))
            .ToList();
        var records = producer!.Pending;
        producer.Commit(offsets, consumer!.ConsumerGroupMetadata);
        foreach (var task in dirty)
        {
            task.Committed();
            lock (markerOffsets)
            {
                if (markerOffsets.TryGetValue(task.Partition, out var offset))
                {
                    task.NextChangelogOffset = offset + 1;
                }
            }
        }

        Counters.Commits++;
        Counters.RecordsProduced += records;
        var elapsed = Stopwatch.GetElapsedTime(started);
        Counters.CommitMs += (long)elapsed.TotalMilliseconds;
        telemetry.Committed(dirty, new CommitSummary(batchRecords, batchDeadLetters, records), elapsed.TotalSeconds, time.GetUtcNow().ToUnixTimeMilliseconds());
        batchRecords = 0;
        batchDeadLetters = 0;
    }

    /// <summary>Brings each task's gauges up to date: lag per input partition, clock, store size.</summary>
    private void RefreshReadings()
    {
        var wallNow = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var task in tasks.Values)
        {
            for (var topic = 0; topic < options.Topics.Inputs.Count; topic++)
            {
                if (!task.Inputs.IsAssigned(topic))
                {
                    continue;
                }

                // Read to its end: the watermark may still be past the last record (a transactional producer's
                // commit marker takes an offset), which is not lag.
                if (task.Inputs.IsAtEnd(topic) && task.Inputs.BufferedFor(topic) == 0)
                {
                    task.Readings.Lag(topic, 0, 0);
                    continue;
                }

                // Cached by the client from fetch responses: no request to the broker.
                var high = consumer!.GetWatermarkOffsets(new TopicPartition(options.Topics.Inputs[topic], task.Partition)).High;
                if (high == Offset.Unset)
                {
                    continue;
                }

                // Behind by the age of the oldest record not yet processed: the buffered head, or else (not fetched
                // yet) at least the last one processed; unknown when nothing was processed since the task started.
                var lag = Math.Max(0, high.Value - Math.Max(task.NextOffsets[topic], 0));
                var oldest = task.Inputs.TryPeekTimestamp(topic, out var head) ? head : task.LastTimestamps[topic];
                task.Readings.Lag(topic, lag, lag == 0 ? 0 : oldest > 0 ? Math.Max(0, wallNow - oldest) : -1);
            }

            if (task.Engine.Clock.HasStarted)
            {
                task.Readings.Clock(wallNow - task.Engine.Clock.Now);
            }

            task.Readings.Store(task.Store.IndexBytes + task.Store.InMemoryLogBytes, task.Store.LogBytes);
        }
    }

    private List<TopicPartitionOffset> OnAssigned(List<TopicPartition> assigned)
    {
        Status.Ready(false);
        Status.Restoring(true);
        var result = new List<TopicPartitionOffset>();
        foreach (var group in assigned.GroupBy(p => p.Partition.Value).OrderBy(g => g.Key))
        {
            if (!tasks.TryGetValue(group.Key, out var task))
            {
                Status.Enter($"restoring task {group.Key}");
                task = restorer!.Restore(group.Key, Status.Progressed, stopping);
                tasks.Add(group.Key, task);
            }

            foreach (var partition in group)
            {
                if (!inputIndex.TryGetValue(partition.Topic, out var topic))
                {
                    continue;
                }

                task.Inputs.Assign(topic);
                var next = task.NextOffsets[topic];
                task.FetchPositions[topic] = next;
                result.Add(new TopicPartitionOffset(partition, next >= 0 ? new Offset(next) : Offset.Unset));
            }
        }

        telemetry.Publish(tasks.Values.Select(t => t.Readings));
        Status.Progressed();
        Status.Restoring(false);
        Status.Ready(true);
        LogAssigned(string.Join(",", tasks.Keys));
        return result;
    }

    private void OnRevoked(List<TopicPartitionOffset> revoked)
    {
        // Not ready until the group has handed out the partitions again (this is also how the instance leaves).
        Status.Ready(false);
        // Everything processed so far is committed while this instance still owns the partitions.
        wallClock.Follow(tasks.Values);
        Commit();
        foreach (var number in revoked.Select(p => p.Partition.Value).Distinct().ToList())
        {
            if (tasks.Remove(number, out var task))
            {
                if (!task.CheckpointedSinceCommit)
                {
                    checkpoints!.Checkpoint(task);
                }

                task.Dispose();
            }
        }

        ClearPauses(revoked);
        telemetry.Publish(tasks.Values.Select(t => t.Readings));
        LogRevoked(string.Join(",", revoked.Select(p => p.Partition.Value).Distinct().Order()));
    }

    private void OnLost(List<TopicPartitionOffset> lost)
    {
        // Another instance may own them already: nothing uncommitted may be published, and local state is ahead
        // of the changelog, so it is dropped (the next restore starts from the last checkpoint).
        Status.Ready(false);

        // Work since the last commit is discarded even when no transaction was open yet (state writes wait for the
        // commit), so that its redo is not counted twice.
        telemetry.Aborted(tasks.Values, SegmentStreamTelemetry.PartitionsLost, transactionOpen: producer!.InTransaction);
        producer.Abort();
        batchRecords = 0;
        batchDeadLetters = 0;
        foreach (var number in lost.Select(p => p.Partition.Value).Distinct().ToList())
        {
            if (tasks.Remove(number, out var task))
            {
                task.Dispose();
            }
        }

        ClearPauses(lost);
        telemetry.Publish(tasks.Values.Select(t => t.Readings));
        LogLost(lost.Count);
    }

    /// <summary>
    /// Resumes partitions leaving this instance. librdkafka keeps an application's pause across unassign and
    /// assign, and a partition paused for a full buffer is resumed only when that task's buffer drains: were it
    /// assigned back to this instance, its new task would start with an empty buffer and never fetch it again.
    /// </summary>
    private void ClearPauses(List<TopicPartitionOffset> leaving) =>
        consumer!.Resume(leaving.Where(p => inputIndex.ContainsKey(p.Topic)).Select(p => p.TopicPartition).ToList());

    /// <summary>All input topics must exist with one partition count, and the changelog with the same (tasks = partitions).</summary>
    private int CheckTopics(IAdminClient admin)
    {
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in metadata.Topics)
        {
            counts[topic.Topic] = topic.Partitions.Count;
        }

        var missing = options.Topics.All.Where(t => !counts.ContainsKey(t)).ToList();
        if (missing.Count > 0)
        {
            throw new SetupException($"Missing topics on {options.BootstrapServers}: {string.Join(", ", missing)} (create them first; see docker-compose.kafka.yml).");
        }

        var coPartitioned = options.Topics.Inputs.Append(options.Topics.Changelog).Select(t => (Topic: t, Partitions: counts[t])).ToList();
        if (coPartitioned.Select(t => t.Partitions).Distinct().Count() != 1)
        {
            throw new SetupException(
                "The input topics and the changelog must have the same partition count (tasks = partitions): " +
                string.Join(", ", coPartitioned.Select(t => $"{t.Topic}={t.Partitions}")));
        }

        return coPartitioned[0].Partitions;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker started: group {GroupId}, transactional id {TransactionalId}, {Partitions} partitions per topic; waiting for the group to assign it tasks (after an instance of the group stopped, the embedded broker holds them until that member's session times out, about 45 s)")]
    private partial void LogStarted(string groupId, string transactionalId, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} waited {MaxTaskIdleMs} ms for an input partition it has no records of (or only one, stamped so far ahead that it may be a stray) and goes on without it: records are taken out of timestamp order until the partition delivers")]
    private partial void LogOutOfOrder(int task, int maxTaskIdleMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Input {Topic} [{Partition}] lost offsets {From} to {To} ({Lost} records): the partition's log was truncated (retention, DeleteRecords) before this worker read them, and reading goes on at offset {Offset}. Their events were never applied; re-send them if they matter, and consider a longer retention on the input topics")]
    private partial void LogInputRecordsLost(string topic, int partition, long from, long to, long lost, long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} filled the current-state tables with its state: {Records} records")]
    private partial void LogTablesFilled(int task, long records);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker stopped: committed, checkpointed and left the group ({Records} records read since start, {Commits} commits)")]
    private partial void LogStopped(long records, long commits);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tasks assigned; this instance now runs tasks {Tasks}")]
    private partial void LogAssigned(string tasks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tasks {Tasks} revoked (this instance stops, or the group rebalances); committed and checkpointed them")]
    private partial void LogRevoked(string tasks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} partitions lost; the open transaction was aborted and their tasks dropped")]
    private partial void LogLost(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} handed over {Count} seller category facts an earlier build had learned without publishing them; they go out with its next commits")]
    private partial void LogFactsHandedOver(int task, long count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} re-evaluated under the current policy: {Changes} changes published")]
    private partial void LogReevaluated(int task, long changes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dead-lettered {Source}: {Reason}: {Detail}")]
    private partial void LogDeadLettered(string source, string reason, string detail);
}
