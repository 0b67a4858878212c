namespace StreamSegments.Kafka.Processing;

/// <summary>The worker's totals since start; written by the loop thread, read by anyone.</summary>
public sealed class StreamCounters
{
    public long RecordsConsumed { get; set; }
    public long EventsApplied { get; set; }
    public long Duplicates { get; set; }
    public long DeadLettered { get; set; }
    public long Commits { get; set; }
    public long RecordsProduced { get; set; }
    public long Checkpoints { get; set; }

    /// <summary>Time the loop spent checkpointing, in total.</summary>
    public long CheckpointMs { get; set; }

    /// <summary>Time the loop spent committing, in total.</summary>
    public long CommitMs { get; set; }
    public long Restores { get; set; }
    public long RecordsRestored { get; set; }

    /// <summary>Timers fired because a caught-up task's clock followed the wall clock (not because of a record).</summary>
    public long WallClockTimersFired { get; set; }

    /// <summary>Input offsets deleted from their partitions (retention) before this worker read them: events never applied.</summary>
    public long InputRecordsLost { get; set; }

    /// <summary>Times a task gave up waiting for an input partition it had no records of and went on out of timestamp order.</summary>
    public long OutOfOrderEpisodes { get; set; }

    /// <summary>Valid records older than their task's clock when applied, each stamped with the clock.</summary>
    public long LateRecords { get; set; }

    /// <summary>Records ranked as the record behind them in their partition: stamped far after it (<see cref="InputMerge.Strays"/>).</summary>
    public long StrayRecords { get; set; }
}
