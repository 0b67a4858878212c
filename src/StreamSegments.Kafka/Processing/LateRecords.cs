namespace StreamSegments.Kafka.Processing;

/// <summary>
/// A task's records applied older than its clock (each stamped with the clock): how many in all, and since the last
/// report how many and how late the latest-arriving one was, for a rate-limited warning.
/// </summary>
internal sealed class LateRecords
{
    private readonly RepeatedWarning warning = new();
    private long sinceReport;
    private long maxLatenessMs;

    public long Total { get; private set; }

    public void Add(long latenessMs)
    {
        Total++;
        sinceReport++;
        maxLatenessMs = Math.Max(maxLatenessMs, latenessMs);
    }

    /// <summary>
    /// A report of the records since the last one, when one of them was more than <paramref name="farMs"/> late and the
    /// last report is at least <paramref name="everyMs"/> old; null otherwise.
    /// </summary>
    public (long Count, long MaxLatenessMs, long Total)? Due(long nowMs, long everyMs, long farMs)
    {
        if (!warning.TryGive(nowMs, maxLatenessMs > farMs, everyMs))
        {
            return null;
        }

        var report = (sinceReport, maxLatenessMs, Total);
        (sinceReport, maxLatenessMs) = (0, 0);
        return report;
    }
}
