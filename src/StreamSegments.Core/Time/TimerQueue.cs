using System.Buffers;

namespace StreamSegments.Core.Time;

/// <summary>
/// Due instants of buyers, earliest first; buyers due at the same instant in buyer-id order, so the order of
/// time-driven changes is the same in a live run, a replay and a run resumed from a checkpoint.
/// </summary>
/// <remarks>
/// Entries are hints: the buyer's state records the instant it is really scheduled for, so an entry
/// superseded by a later reschedule is recognised and skipped when it pops. That keeps rescheduling O(log n)
/// with no removal, and lets recovery rebuild the queue from any superset of the live entries.
/// The queue holds about one entry per live buyer (a million and more), and one is pushed for almost every
/// event, so entries hold no object references: buyer ids live in <see cref="BuyerIdSlots"/>. Scheduling
/// allocates nothing, and the garbage collector has nothing to trace in the queue.
/// </remarks>
public sealed class TimerQueue
{
    private readonly BuyerIdSlots ids = new();
    private readonly PriorityQueue<int, Entry> queue;
    private readonly List<Entry> peeked = [];
    private byte[] lastTakenId = new byte[BuyerIdSlots.InlineBytes];
    private int lastTakenIdLength;
    private long lastTakenDue = EventTime.None;

    public TimerQueue()
    {
        queue = new PriorityQueue<int, Entry>(new EntryComparer(ids));
    }

    public int Count => queue.Count;

    public long NextDue => queue.TryPeek(out _, out var entry) ? entry.Due : EventTime.None;

    public void Schedule(ReadOnlySpan<byte> buyerId, long due)
    {
        var slot = ids.Add(buyerId);
        queue.Enqueue(slot, new Entry(due, slot));
    }

    /// <summary>
    /// Takes the earliest entry due at or before <paramref name="until"/>. A buyer pushed twice for the same
    /// instant is handed out once: equal entries are adjacent in this order, so comparing with the last one
    /// taken is enough. The id is valid until the next call.
    /// </summary>
    public bool TryTakeDue(long until, out ReadOnlySpan<byte> buyerId, out long due)
    {
        while (queue.TryPeek(out var slot, out var entry) && entry.Due <= until)
        {
            queue.Dequeue();
            var id = ids[slot];
            var repeated = entry.Due == lastTakenDue && id.SequenceEqual(lastTakenId.AsSpan(0, lastTakenIdLength));
            if (!repeated)
            {
                if (lastTakenId.Length < id.Length)
                {
                    lastTakenId = new byte[id.Length];
                }

                id.CopyTo(lastTakenId);
                lastTakenIdLength = id.Length;
                lastTakenDue = entry.Due;
            }

            ids.Remove(slot);
            if (!repeated)
            {
                buyerId = lastTakenId.AsSpan(0, lastTakenIdLength);
                due = entry.Due;
                return true;
            }
        }

        buyerId = default;
        due = EventTime.None;
        return false;
    }

    /// <summary>
    /// Hands <paramref name="visit"/> the buyer ids of up to <paramref name="limit"/> entries due at or before
    /// <paramref name="until"/>, earliest first, leaving the queue as it was (to prefetch what is about to fire).
    /// </summary>
    public void PeekDue<TState>(long until, int limit, TState state, ReadOnlySpanAction<byte, TState> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        while (peeked.Count < limit && queue.TryPeek(out var slot, out var entry) && entry.Due <= until)
        {
            queue.Dequeue();
            visit(ids[slot], state);
            peeked.Add(entry);
        }

        foreach (var entry in peeked)
        {
            queue.Enqueue(entry.Slot, entry);
        }

        peeked.Clear();
    }

    public void Clear()
    {
        queue.Clear();
        ids.Clear();
    }

    private readonly record struct Entry(long Due, int Slot);

    private sealed class EntryComparer(BuyerIdSlots ids) : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y)
        {
            var byDue = x.Due.CompareTo(y.Due);
            return byDue != 0 ? byDue : ids[x.Slot].SequenceCompareTo(ids[y.Slot]);
        }
    }
}
