using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamSegments.Kafka.Telemetry;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// When the loop checkpoints its tasks' FASTER stores, and the checkpoint itself: the store's state with a
/// <see cref="TaskCheckpointCookie"/> naming the changelog offset and commit marker it reflects, so that a restore
/// replays only the changelog after it. Runs on the loop's thread, between commits.
/// </summary>
internal sealed partial class TaskCheckpoints(
    SegmentStreamOptions options,
    SegmentStreamTelemetry telemetry,
    TimeProvider time,
    Stopwatch monotonic,
    StreamCounters counters,
    Action<string> reportStep,
    ILogger logger)
{
    /// <summary>
    /// Checkpoints the task whose checkpoint is most overdue, one per commit cycle; or, when <paramref name="force"/>d
    /// (stopping), every task with commits since its last. One at a time because tasks assigned together come due
    /// together: 33 of them checkpointing in one cycle held the loop for about 3 s every minute (p99 latency 3.2 s
    /// over 2 minutes at 20,000 events/s), while a cycle's single checkpoint costs about what one commit does.
    /// </summary>
    public void CheckpointDue(IEnumerable<PartitionTask> tasks, bool force)
    {
        var now = monotonic.ElapsedMilliseconds;
        PartitionTask? due = null;
        foreach (var task in tasks)
        {
            // An idle task's checkpoint is refreshed too, before it is too old to use (MaxCheckpointAgeMs).
            var expiring = now - task.LastCheckpointAt >= options.MaxCheckpointAgeMs / 2;
            if (task.CheckpointedSinceCommit && !expiring)
            {
                continue;
            }

            if (force)
            {
                Checkpoint(task);
            }
            else if ((expiring || now - task.LastCheckpointAt >= options.CheckpointIntervalMs) && (due is null || task.LastCheckpointAt < due.LastCheckpointAt))
            {
                due = task;
            }
        }

        if (due is not null)
        {
            Checkpoint(due);
        }
    }

    public void Checkpoint(PartitionTask task)
    {
        reportStep($"checkpointing task {task.Partition}");
        var started = Stopwatch.GetTimestamp();
        var cookie = new TaskCheckpointCookie(task.NextChangelogOffset, time.GetUtcNow().ToUnixTimeMilliseconds(), task.CurrentMarker).Write();
        using var span = telemetry.Traces.StartActivity("checkpoint");
        span?.SetTag("streamsegments.task", task.Partition);
        span?.SetTag("streamsegments.changelog.offset", task.NextChangelogOffset);
        // Not cancellable: a checkpoint is local and short, and a stop request arriving during one must still reach
        // the shutdown path (final commit, checkpoint, leaving the group), not end the loop half-way.
        task.Store.CheckpointAsync(cookie, CancellationToken.None).GetAwaiter().GetResult();
        task.LastCheckpointAt = monotonic.ElapsedMilliseconds;
        task.CheckpointedSinceCommit = true;
        counters.Checkpoints++;
        var bytes = task.Store.TailAddress - task.CheckpointedTailAddress;
        task.CheckpointedTailAddress = task.Store.TailAddress;
        span?.SetTag("streamsegments.checkpoint.size", bytes);
        task.Readings.Checkpointed(bytes);
        var elapsed = Stopwatch.GetElapsedTime(started);
        counters.CheckpointMs += (long)elapsed.TotalMilliseconds;
        telemetry.Checkpointed(task.Partition, elapsed.TotalSeconds);
        LogCheckpointed(task.Partition, task.NextChangelogOffset, (long)elapsed.TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {Task} checkpointed at changelog offset {Offset} in {ElapsedMs} ms")]
    private partial void LogCheckpointed(int task, long offset, long elapsedMs);
}
