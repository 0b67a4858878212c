namespace StreamSegments.Core.Time;

/// <summary>
/// Due instants of buyers, earliest first. Entries are hints: the buyer's state records the instant it is
/// really scheduled for, so an entry superseded by a later reschedule is recognised and skipped when it pops.
/// That keeps rescheduling O(log n) with no removal, and lets recovery rebuild the queue from any superset.
/// </summary>
public sealed class TimerQueue
{
    private readonly PriorityQueue<byte[], long> queue = new();

    public int Count => queue.Count;

    public void Schedule(ReadOnlySpan<byte> buyerId, long due) => queue.Enqueue(buyerId.ToArray(), due);

    /// <summary>Takes the earliest entry due at or before <paramref name="until"/>.</summary>
    public bool TryTakeDue(long until, out byte[] buyerId, out long due)
    {
        if (queue.TryPeek(out buyerId!, out due) && due <= until)
        {
            queue.Dequeue();
            return true;
        }

        buyerId = [];
        due = EventTime.None;
        return false;
    }

    public long NextDue => queue.TryPeek(out _, out var due) ? due : EventTime.None;

    public void Clear() => queue.Clear();
}
