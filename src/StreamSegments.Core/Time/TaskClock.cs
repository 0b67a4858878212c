namespace StreamSegments.Core.Time;

/// <summary>
/// A task's stream time: the latest event time it has reached. It never goes back; a late record is applied
/// at the clock's current instant (see ARCHITECTURE.md, "late records").
/// </summary>
public sealed class TaskClock
{
    public TaskClock(long start = EventTime.None) => Now = start;

    public long Now { get; private set; }

    public bool HasStarted => Now != EventTime.None;

    /// <summary>Moves forward to <paramref name="instant"/>; returns false (and stays) when it is not later.</summary>
    public bool AdvanceTo(long instant)
    {
        if (instant <= Now)
        {
            return false;
        }

        Now = instant;
        return true;
    }
}
