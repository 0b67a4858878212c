namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Paces a task's warning about something that goes on (late records, event ids forgotten early, strays): given at
/// most once per interval, and only when something new happened since the last time.
/// </summary>
internal sealed class RepeatedWarning
{
    /// <summary>How often a task repeats a warning: often enough to be seen in a log search, rarely enough not to flood it.</summary>
    public const long EveryMs = 600_000;

    private long givenAtMs = long.MinValue / 2;

    /// <summary>Whether the warning is due at <paramref name="nowMs"/>, given <paramref name="news"/>; when it is, it counts as given.</summary>
    public bool TryGive(long nowMs, bool news, long everyMs = EveryMs)
    {
        if (!news || nowMs < givenAtMs + everyMs)
        {
            return false;
        }

        givenAtMs = nowMs;
        return true;
    }
}
