using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Time;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// What the loop tells an operator about its tasks after a commit, each report at its own pace: catch-up progress
/// while behind, records applied late, stray record timestamps, event ids forgotten early. Logged in the processor's
/// category.
/// </summary>
internal sealed partial class TaskReports(SegmentStreamOptions options, SegmentPolicy policy, Stopwatch monotonic, StreamCounters counters, ILogger logger)
{
    private readonly CatchUpProgress catchUp = new(everyMs: 60_000);

    public void Report(IReadOnlyCollection<PartitionTask> tasks)
    {
        WarnOfEventIdsForgottenEarly(tasks);
        WarnOfStrays(tasks);
        WarnOfLateRecords(tasks);
        LogCatchUpProgress(tasks);
    }

    /// <summary>Every minute while the tasks are behind their inputs: rate, what is left, and the task clocks.</summary>
    private void LogCatchUpProgress(IEnumerable<PartitionTask> tasks)
    {
        if (!catchUp.IsDue(monotonic.ElapsedMilliseconds))
        {
            return;
        }

        long left = 0;
        var earliest = long.MaxValue;
        var latest = long.MinValue;
        foreach (var task in tasks)
        {
            for (var topic = 0; topic < options.Topics.Inputs.Count; topic++)
            {
                left += task.Readings.LagRecords(topic);
            }

            if (task.Engine.Clock.HasStarted)
            {
                (earliest, latest) = (Math.Min(earliest, task.Engine.Clock.Now), Math.Max(latest, task.Engine.Clock.Now));
            }
        }

        if (catchUp.Due(monotonic.ElapsedMilliseconds, counters.RecordsConsumed, left) is { } report)
        {
            LogCatchingUp(report.Records, (long)report.PerSecond, report.Left, report.Eta?.ToString() ?? "unknown",
                earliest == long.MaxValue ? "none" : EventTime.Format(earliest), latest == long.MinValue ? "none" : EventTime.Format(latest));
        }
    }

    /// <summary>
    /// Logs, at most every 10 minutes per task, records applied more than Kafka:FollowWallClockWithinMs older than the
    /// task's clock: beyond the stragglers of live traffic, that is history reaching the topics out of occurredAt order
    /// (record timestamps that are not the events' times, or a restart that moved the clock to now in mid-backfill).
    /// </summary>
    private void WarnOfLateRecords(IEnumerable<PartitionTask> tasks)
    {
        foreach (var task in tasks)
        {
            if (task.LateRecords.Due(monotonic.ElapsedMilliseconds, RepeatedWarning.EveryMs, options.FollowWallClockWithinMs) is { } report)
            {
                LogLateRecords(task.Partition, report.Count, TimeSpan.FromMilliseconds(report.MaxLatenessMs), report.Total);
            }
        }
    }

    /// <summary>Logs, at most every 10 minutes per task, records taken where they sat although stamped far after the record behind them.</summary>
    private void WarnOfStrays(IEnumerable<PartitionTask> tasks)
    {
        foreach (var task in tasks)
        {
            if (task.Strays.Due(monotonic.ElapsedMilliseconds, task.Inputs.Strays) is { } strays)
            {
                LogStrays(task.Partition, strays, TimeSpan.FromMilliseconds(options.FollowWallClockWithinMs));
            }
        }
    }

    /// <summary>Logs, at most every 10 minutes per task, that buyers over Policy:MaxRememberedEventIds had event ids forgotten.</summary>
    private void WarnOfEventIdsForgottenEarly(IEnumerable<PartitionTask> tasks)
    {
        foreach (var task in tasks)
        {
            if (task.ForgottenEarly.Due(monotonic.ElapsedMilliseconds, task.Engine.Counters.EventIdsForgottenEarly) is { } forgotten)
            {
                LogEventIdsForgottenEarly(task.Partition, policy.MaxRememberedEventIds, forgotten);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Catching up: {Records} records read in the last minute ({PerSecond}/s), {Left} left to read (about {Eta} at this rate); task clocks from {Earliest} to {Latest}")]
    private partial void LogCatchingUp(long records, long perSecond, long left, string eta, string earliest, string latest);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task} applied {Count} records since the last report that were older than its clock, up to {Lateness} (the task has had {Total} late records in all): each was stamped with the clock, so its changes differ from a replay in occurredAt order. Records must reach the input topics in occurredAt order, with record timestamp = occurredAt (README, \"Backfilling history\")")]
    private partial void LogLateRecords(int task, long count, TimeSpan lateness, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task} has buyers with more than Policy:MaxRememberedEventIds ({Max}) recent events (crawlers, or an id shared by many): {Forgotten} event ids forgotten early so far; re-sends of those events are applied again (harmless for true copies)")]
    private partial void LogEventIdsForgottenEarly(int task, int max, long forgotten);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {Task} has taken {Strays} records so far where they sat in their partition although stamped more than Kafka:FollowWallClockWithinMs ({Bound}) after the record behind them: a producer's clock, or a timestamp of 0 that the client made \"now\". Ranked by their own timestamp, they would have held the rest of their partition back. Fix the producer's timestamps (README, \"Backfilling history\")")]
    private partial void LogStrays(int task, long strays, TimeSpan bound);
}
