namespace StreamSegments.Core.Time;

/// <summary>
/// Due instants of buyers, earliest first; buyers due at the same instant in buyer-id order, so the order of
/// time-driven changes is the same in a live run, a replay and a run resumed from a checkpoint.
/// </summary>
/// <remarks>
/// Entries are hints: the buyer's state records the instant it is really scheduled for, so an entry
/// superseded by a later reschedule is recognised and skipped when it pops. That keeps rescheduling O(log n)
/// with no removal, and lets recovery rebuild the queue from any superset of the live entries.
/// </remarks>
public sealed class TimerQueue
{
    private readonly PriorityQueue<byte[], Entry> queue = new(EntryComparer.Instance);
    private readonly List<Entry> peeked = [];
    private Entry lastTaken = new(EventTime.None, []);

    public int Count => queue.Count;

    public long NextDue => queue.TryPeek(out _, out var entry) ? entry.Due : EventTime.None;

    public void Schedule(ReadOnlySpan<byte> buyerId, long due)
    {
        var id = buyerId.ToArray();
        queue.Enqueue(id, new Entry(due, id));
    }

    /// <summary>
    /// Takes the earliest entry due at or before <paramref name="until"/>. A buyer pushed twice for the same
    /// instant is handed out once: equal entries are adjacent in this order, so comparing with the last one
    /// taken is enough.
    /// </summary>
    public bool TryTakeDue(long until, out byte[] buyerId, out long due)
    {
        while (queue.TryPeek(out buyerId!, out var entry) && entry.Due <= until)
        {
            queue.Dequeue();
            if (EntryComparer.Instance.Compare(entry, lastTaken) == 0)
            {
                continue;
            }

            lastTaken = entry;
            due = entry.Due;
            return true;
        }

        buyerId = [];
        due = EventTime.None;
        return false;
    }

    /// <summary>
    /// Copies the buyer ids of up to <paramref name="destination"/>'s length entries due at or before
    /// <paramref name="until"/>, earliest first, leaving the queue as it was (to prefetch what is about to fire).
    /// </summary>
    public int PeekDue(long until, Span<byte[]> destination)
    {
        var count = 0;
        while (count < destination.Length && queue.TryPeek(out var buyerId, out var entry) && entry.Due <= until)
        {
            queue.Dequeue();
            destination[count++] = buyerId;
            peeked.Add(entry);
        }

        foreach (var entry in peeked)
        {
            queue.Enqueue(entry.BuyerId, entry);
        }

        peeked.Clear();
        return count;
    }

    public void Clear() => queue.Clear();

    private readonly record struct Entry(long Due, byte[] BuyerId);

    private sealed class EntryComparer : IComparer<Entry>
    {
        public static readonly EntryComparer Instance = new();

        public int Compare(Entry x, Entry y)
        {
            var byDue = x.Due.CompareTo(y.Due);
            return byDue != 0 ? byDue : x.BuyerId.AsSpan().SequenceCompareTo(y.BuyerId);
        }
    }
}
