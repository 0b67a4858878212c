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
    private readonly EntryComparer comparer;

    // Entries taken out of the heap by PeekDue, in queue order, still to be taken: peeking moves entries here
    // instead of re-enqueueing them, which would cost two heap operations per peeked entry.
    private readonly List<Entry> staged = [];
    private int stagedHead;

    private byte[] lastTakenId = new byte[BuyerIdSlots.InlineBytes];
    private int lastTakenIdLength;
    private long lastTakenDue = EventTime.None;

    public TimerQueue()
    {
        comparer = new EntryComparer(ids);
        queue = new PriorityQueue<int, Entry>(comparer);
    }

    public int Count => queue.Count + staged.Count - stagedHead;

    public long NextDue => TryPeek(out var entry) ? entry.Due : EventTime.None;

    public void Schedule(ReadOnlySpan<byte> buyerId, long due)
    {
        if (due <= lastTakenDue)
        {
            // Scheduled after an entry of its instant was taken: a new entry, not a copy of that one.
            lastTakenDue = EventTime.None;
        }

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
        while (TryPeek(out var entry) && entry.Due <= until)
        {
            Take();
            var id = ids[entry.Slot];
            var repeated = entry.Due == lastTakenDue && id.SequenceEqual(lastTakenId.AsSpan(0, lastTakenIdLength));
            if (!repeated)
            {
                // Copied out: the slot is reused by the next schedule, which may come before the caller is done.
                if (lastTakenId.Length < id.Length)
                {
                    lastTakenId = new byte[id.Length];
                }

                id.CopyTo(lastTakenId);
                lastTakenIdLength = id.Length;
                lastTakenDue = entry.Due;
            }

            ids.Remove(entry.Slot);
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
    /// <paramref name="until"/>, earliest first (entries peeked before come first), to prefetch what is about to
    /// fire. The entries stay queued: the ones peeked from the heap wait, in order, beside it.
    /// </summary>
    public void PeekDue<TState>(long until, int limit, TState state, ReadOnlySpanAction<byte, TState> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        var visited = 0;
        for (var i = stagedHead; i < staged.Count && visited < limit && staged[i].Due <= until; i++, visited++)
        {
            visit(ids[staged[i].Slot], state);
        }

        while (visited < limit && queue.TryPeek(out _, out var entry) && entry.Due <= until)
        {
            queue.Dequeue();
            Stage(entry);
            visit(ids[entry.Slot], state);
            visited++;
        }
    }

    private bool TryPeek(out Entry entry)
    {
        var inHeap = queue.TryPeek(out _, out var heapEntry);
        if (stagedHead < staged.Count && (!inHeap || comparer.Compare(staged[stagedHead], heapEntry) <= 0))
        {
            entry = staged[stagedHead];
            return true;
        }

        entry = heapEntry;
        return inHeap;
    }

    /// <summary>Removes the entry <see cref="TryPeek"/> returned.</summary>
    private void Take()
    {
        var inHeap = queue.TryPeek(out _, out var heapEntry);
        if (stagedHead < staged.Count && (!inHeap || comparer.Compare(staged[stagedHead], heapEntry) <= 0))
        {
            if (++stagedHead == staged.Count)
            {
                staged.Clear();
                stagedHead = 0;
            }
        }
        else
        {
            queue.Dequeue();
        }
    }

    /// <summary>
    /// Appends a peeked entry to the staged ones, keeping them in queue order: it comes after them unless it was
    /// scheduled, earlier than some of them, after they were staged.
    /// </summary>
    private void Stage(Entry entry)
    {
        var at = staged.Count;
        while (at > stagedHead && comparer.Compare(staged[at - 1], entry) > 0)
        {
            at--;
        }

        staged.Insert(at, entry);
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
