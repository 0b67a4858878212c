using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamSegments.Core.Policy;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Brings an assigned task back before it processes: its local FASTER checkpoint when one is usable (taken against
/// this changelog, young enough, intact), then its changelog's tail from the offset that checkpoint reflects, then
/// its timers, and the re-evaluation or fact hand-over that state from another policy or an earlier build needs.
/// Runs on the loop's thread, inside the rebalance callback.
/// </summary>
internal sealed partial class TaskRestorer(
    SegmentStreamOptions options,
    SegmentPolicy policy,
    StateStoreOptions stateOptions,
    IConsumer<byte[]?, byte[]?> changelogReader,
    IAdminClient admin,
    OutputProducer producer,
    SegmentStreamTelemetry telemetry,
    TimeProvider time,
    Stopwatch monotonic,
    StreamCounters counters,
    ILogger logger)
{
    public PartitionTask Restore(int partition, Action reportProgress, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = telemetry.Traces.StartActivity("restore");
        span?.SetTag("streamsegments.task", partition);
        var directory = Path.Combine(stateOptions.Directory, $"task-{partition}");
        var changelog = new TopicPartition(options.Topics.Changelog, partition);
        LogRestoring(partition, directory);
        var bounds = ChangelogRestore.StableBounds(
            changelogReader, admin, changelog, options.RestorePatience, reportProgress, stopping);
        var end = bounds.High.Value;

        var sellers = new SymbolTable();
        var categories = new SymbolTable();
        var store = new FasterBuyerStateStore(directory, stateOptions, sellers, categories);
        long from = 0;
        long checkpointAgeMs = 0;
        CommitMarker? marker = null;
        try
        {
            if (store.RecoverAsync(stopping).GetAwaiter().GetResult() is { } recovered)
            {
                // A cookie of format 1 has no time: its age is unknown, so it counts as too old (one restore from the
                // changelog per task, once).
                var cookie = TaskCheckpointCookie.Read(recovered);
                (from, marker) = (cookie.ChangelogOffset, cookie.Marker);
                var age = time.GetUtcNow().ToUnixTimeMilliseconds() - cookie.TakenAtMs;
                if (from > end)
                {
                    // The checkpoint was taken against another changelog (e.g. an embedded broker's, now gone).
                    LogCheckpointAhead(partition, from, end);
                    (from, marker) = (0, null);
                }
                else if (age is null || age > options.MaxCheckpointAgeMs)
                {
                    LogCheckpointTooOld(partition, age is { } known ? TimeSpan.FromMilliseconds(known).ToString() : "unknown (format 1)", TimeSpan.FromMilliseconds(options.MaxCheckpointAgeMs));
                    (from, marker) = (0, null);
                }
                else
                {
                    checkpointAgeMs = Math.Max(0, age.Value);
                }
            }

            if (from == 0)
            {
                store.Dispose();
                FasterBuyerStateStore.DeleteDirectory(directory);
                store = new FasterBuyerStateStore(directory, stateOptions, sellers, categories);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCheckpointUnusable(ex, partition);
            store.Dispose();
            FasterBuyerStateStore.DeleteDirectory(directory);
            store = new FasterBuyerStateStore(directory, stateOptions, sellers, categories);
            (from, marker) = (0, null);
        }

        var restored = ChangelogRestore.Run(
            changelogReader, changelog, bounds, from, marker, store, reportProgress, stopping);
        var task = new PartitionTask(partition, options.Topics, store, sellers, categories, policy, producer, telemetry, restored.Marker)
        {
            NextChangelogOffset = restored.NextChangelogOffset,
            LastCheckpointAt = monotonic.ElapsedMilliseconds - checkpointAgeMs, // its age counts towards refreshing it
            CheckpointedTailAddress = store.TailAddress,

            // What the changelog added is checkpointed at the next due time (or stop), not only after a commit: an
            // idle task restored from scratch would otherwise be restored from scratch at every start.
            CheckpointedSinceCommit = restored.RecordsApplied == 0,

            // A restore counts as a record for the history bound (Kafka:HistoryIdleMs): a backfill that resumes within it
            // is still held back, instead of having the rest of its history stamped with now.
            LastRecordAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        // Published under other thresholds, or tables named since the state was last published whole (or renamed):
        // the loop goes through every buyer first, so the restore's own scan of the store collects their ids.
        var reevaluate = restored.Marker is { Policy: not 0 } sealedBy && sealedBy.Policy != policy.Fingerprint();
        var fillTables = options.Topics.Tables.Count > 0 && restored.Marker is { } sealedWith && sealedWith.Tables != task.PublishedTables;
        var buyers = reevaluate || fillTables ? new List<byte[]>() : null;
        var scanned = 0;
        var unpublishedFacts = new List<(int Seller, int Category)>();
        store.RestoreInto(
            task.Engine,
            buyer =>
            {
                task.Readings.Restored(buyer);
                buyers?.Add(buyer.BuyerId.ToArray());
                if (++scanned % 4096 == 0)
                {
                    reportProgress();
                }
            },
            unpublishedFacts);
        task.UnpublishedFacts = unpublishedFacts.Count > 0 ? unpublishedFacts : null;
        if (reevaluate)
        {
            // What each pair should be now is published at the clock (from the loop, a batch per pass, so that no
            // transaction spans the rest of the rebalance), and the timers, already queued by the current policy, take
            // it from there.
            task.PublishedPolicy = PartitionTask.MixedPolicies;
            task.PendingReevaluation = new Queue<byte[]>(buyers!);
            task.ChangesBeforeReevaluation = task.Engine.Counters.SegmentChanges + task.Engine.Counters.CategoryInterestChanges;
            LogPolicyChanged(partition, buyers!.Count);
        }

        // The tables hold only what changed while they were named: every buyer is restated to them, after any
        // re-evaluation, so that they hold the whole state.
        if (fillTables && buyers!.Count > 0)
        {
            task.PublishedTables = restored.Marker!.Tables;
            task.PendingTableFill = new Queue<byte[]>(buyers);
            LogTablesToFill(partition, buyers.Count, string.Join(", ", options.Topics.Tables));
        }

        counters.Restores++;
        counters.RecordsRestored += restored.RecordsApplied;
        var elapsed = Stopwatch.GetElapsedTime(started);
        telemetry.Restored(partition, elapsed.TotalSeconds, restored.RecordsApplied);
        span?.SetTag("streamsegments.changelog.offset", from);
        span?.SetTag("streamsegments.restore.records", restored.RecordsApplied);
        span?.SetTag("streamsegments.restore.dropped", restored.RecordsDropped);
        LogRestored(partition, from, restored.RecordsApplied, restored.RecordsDropped, task.Engine.Timers.Count,
            restored.Marker is not { Clock: not EventTime.None } restoredAt ? "none" : EventTime.Format(restoredAt.Clock), (long)elapsed.TotalMilliseconds);
        return task;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task}'s state was not published whole to the current-state tables ({Tables}): restating its {Buyers} buyers there before its records")]
    private partial void LogTablesToFill(int task, int buyers, string tables);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} restoring: its local checkpoint in {Directory} if there is a usable one, then its changelog")]
    private partial void LogRestoring(int task, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} restored from changelog offset {From}: {Records} records applied, {Dropped} of an unfinished commit dropped, {Timers} timers, clock {Clock}, {ElapsedMs} ms")]
    private partial void LogRestored(int task, long from, long records, long dropped, int timers, string clock, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task}'s checkpoint names changelog offset {From} but the changelog ends at {End}; restoring from the beginning")]
    private partial void LogCheckpointAhead(int task, long from, long end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task}'s local checkpoint age is {Age}, not within Kafka:MaxCheckpointAgeMs ({MaxAge}): restoring from the changelog's beginning, since compaction may have removed tombstones written since")]
    private partial void LogCheckpointTooOld(int task, string age, TimeSpan maxAge);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task}'s local checkpoint could not be recovered; restoring from the beginning of the changelog")]
    private partial void LogCheckpointUnusable(Exception exception, int task);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task}'s state was published under another policy: re-evaluating its {Buyers} buyers at its clock before its records (cause policy-change)")]
    private partial void LogPolicyChanged(int task, int buyers);
}
