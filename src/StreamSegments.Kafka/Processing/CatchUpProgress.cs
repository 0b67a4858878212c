namespace StreamSegments.Kafka.Processing;

/// <summary>
/// When the worker is behind its input (a backfill, a restart after an outage), how fast it reads and when it should
/// be done: what an operator waiting for a catch-up wants to see without a dashboard. Nothing while caught up, which
/// under live traffic means a few records still in flight: less than <see cref="BehindSeconds"/> of reading.
/// </summary>
internal sealed class CatchUpProgress(long everyMs)
{
    /// <summary>What is left is a catch-up only if it takes longer than this to read at the current rate.</summary>
    public const int BehindSeconds = 10;

    private long reportedAtMs;
    private long reportedRecords;

    /// <summary>Whether a report may be due: what is left need not be summed before.</summary>
    public bool IsDue(long nowMs) => nowMs - reportedAtMs >= everyMs;

    /// <summary>
    /// A report, every <c>everyMs</c> while the worker is behind: the records consumed since the last one, their rate,
    /// what is left and how long that takes at this rate (null when nothing was read).
    /// </summary>
    public (long Records, double PerSecond, long Left, TimeSpan? Eta)? Due(long nowMs, long consumedTotal, long left)
    {
        if (!IsDue(nowMs))
        {
            return null;
        }

        var records = consumedTotal - reportedRecords;
        var perSecond = records * 1000.0 / (nowMs - reportedAtMs);
        (reportedAtMs, reportedRecords) = (nowMs, consumedTotal);
        return left <= 0 || left <= perSecond * BehindSeconds
            ? null
            : (records, perSecond, left, perSecond > 0 ? TimeSpan.FromSeconds(Math.Round(left / perSecond)) : null);
    }
}
