using Microsoft.Extensions.Logging;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Telemetry;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Moves caught-up tasks' clocks to the wall clock (minus <see cref="SegmentStreamOptions.AllowedLatenessMs"/>),
/// firing the timers due on the way, so that buyers leave the window in real time with no event; except a task
/// going through history, which waits for more of it (<see cref="SegmentStreamOptions.FollowWallClockWithinMs"/>,
/// <see cref="SegmentStreamOptions.HistoryIdleMs"/>).
/// </summary>
internal sealed partial class WallClockFollower(SegmentStreamOptions options, TimeProvider time, SegmentStreamTelemetry telemetry, StreamCounters counters, ILogger logger)
{
    public void Follow(IEnumerable<PartitionTask> tasks)
    {
        if (!options.FollowWallClock)
        {
            return;
        }

        var wall = time.GetUtcNow().ToUnixTimeMilliseconds();
        var target = wall - options.AllowedLatenessMs;
        foreach (var task in tasks)
        {
            if (task.Inputs.IsCaughtUp && task.Engine.Clock.Now < target && task.Engine.Clock.HasStarted && task.PendingReevaluation is null)
            {
                // Far behind and still receiving records: history produced slower than it is read (FollowWallClockWithinMs).
                if (target - task.Engine.Clock.Now > options.FollowWallClockWithinMs && task.LastRecordAt > wall - options.HistoryIdleMs)
                {
                    if (!task.WallClockHeldBack)
                    {
                        task.WallClockHeldBack = true;
                        LogWallClockHeldBack(task.Partition, TimeSpan.FromMilliseconds(target - task.Engine.Clock.Now), TimeSpan.FromMilliseconds(options.FollowWallClockWithinMs), TimeSpan.FromMilliseconds(options.HistoryIdleMs));
                    }

                    continue;
                }

                task.WallClockHeldBack = false;
                if (task.Engine.Timers.Count > 0 && task.Engine.Timers.NextDue <= target)
                {
                    telemetry.Batch(default);
                }

                var fired = task.Engine.Counters.TimersFired;
                var from = task.Engine.Clock.Now;
                task.Engine.AdvanceClockTo(target);
                counters.WallClockTimersFired += task.Engine.Counters.TimersFired - fired;
                if (target - from > options.FollowWallClockWithinMs)
                {
                    // The end of history (or a restore of a task whose clock is old): a jump that publishes at once
                    // what time did meanwhile, and stamps with the wall clock whatever history may still come.
                    LogFollowsWallClock(task.Partition, EventTime.Format(from), TimeSpan.FromMilliseconds(target - from), task.Engine.Counters.TimersFired - fired);
                }

                // A change marked the task dirty already. A timer that changed nothing and wrote nothing needs no
                // transaction: after a crash it fires again, and changes nothing again.
                task.Dirty |= task.Changelog.Count > 0;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} is reading history: it has read all its input, but its clock is {Behind} behind the wall clock (more than Kafka:FollowWallClockWithinMs, {Within}) and records still arrive, so it waits for more instead of following the wall clock; it follows once no record has come for Kafka:HistoryIdleMs ({HistoryIdle})")]
    private partial void LogWallClockHeldBack(int task, TimeSpan behind, TimeSpan within, TimeSpan historyIdle);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {Task} follows the wall clock from {From}, {Behind} behind it: {Timers} timers fired on the way")]
    private partial void LogFollowsWallClock(int task, string from, TimeSpan behind, long timers);
}
