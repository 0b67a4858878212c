namespace StreamSegments.Kafka.Processing;

/// <summary>
/// A running total a task warns about (event ids forgotten early, stray records): what the metric has counted and
/// what the warning has said of it.
/// </summary>
internal sealed class RunningTotal
{
    private readonly RepeatedWarning warning = new();
    private long reported;

    /// <summary>The total at the last commit, for a metric's increments.</summary>
    public long Committed { get; set; }

    /// <summary>The total to report when the warning is due at <paramref name="nowMs"/> (the total grew since the last one); null otherwise.</summary>
    public long? Due(long nowMs, long total, long everyMs = RepeatedWarning.EveryMs)
    {
        if (!warning.TryGive(nowMs, total > reported, everyMs))
        {
            return null;
        }

        reported = total;
        return total;
    }
}
