namespace StreamSegments.Kafka.Processing;

/// <summary>
/// A task's event ids forgotten before their time (buyers over Policy:MaxRememberedEventIds): what the metric has
/// counted and what the warning has said, of the engine's running total.
/// </summary>
internal sealed class ForgottenEventIds
{
    private readonly RepeatedWarning warning = new();
    private long reported;

    /// <summary>The engine's total at the last commit, for the metric's increments.</summary>
    public long Committed { get; set; }

    /// <summary>The total to report when the warning is due at <paramref name="nowMs"/> (more forgotten since the last one); null otherwise.</summary>
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
