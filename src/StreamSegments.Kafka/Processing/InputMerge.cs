using Confluent.Kafka;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// One task's input partitions (one per input topic, co-partitioned): records buffered as fetched and taken in
/// timestamp order across the topics (<see cref="TryTakeNext"/>), so that a live run takes them in the order a
/// replay of the same topics would. Used from the worker's loop thread only.
/// </summary>
internal sealed class InputMerge
{
    private readonly Queue<ConsumeResult<byte[]?, byte[]?>>[] buffers;
    private readonly bool[] atEnd;
    private readonly bool[] assigned;
    private readonly long[] newestTimestamp;

    // Since when each partition with nothing buffered (or a possible stray alone) and its end not known has held a
    // record back (-1: it is not holding one), and whether its wait ran out: each gets its own MaxIdleMs, however
    // long another one held the task.
    private readonly long[] unreadSince;
    private readonly bool[] gaveUpOn;

    // Since when some partition read to its end has held the task; a silent topic is waited for once, not per record.
    private long caughtUpSince = -1;

    public InputMerge(int inputTopics)
    {
        buffers = Enumerable.Range(0, inputTopics).Select(_ => new Queue<ConsumeResult<byte[]?, byte[]?>>()).ToArray();
        atEnd = new bool[inputTopics];
        assigned = new bool[inputTopics];
        newestTimestamp = Enumerable.Repeat(long.MinValue, inputTopics).ToArray();
        unreadSince = Enumerable.Repeat(-1L, inputTopics).ToArray();
        gaveUpOn = new bool[inputTopics];
    }

    /// <summary>
    /// Times this task stopped waiting for an input partition it had no records of (none fetched, not known to be
    /// read to its end), or only one that may be a stray, and took the other topics' records out of timestamp order:
    /// where a live run may differ from a replay of the same topics.
    /// </summary>
    public long OutOfOrderEpisodes { get; private set; }

    /// <summary>Records taken where they sat in their partition although stamped far after the record behind them.</summary>
    public long Strays { get; private set; }

    public void Assign(int topic) => assigned[topic] = true;

    public bool IsAssigned(int topic) => assigned[topic];

    /// <summary>The input partition was read to its end and nothing arrived since.</summary>
    public bool IsAtEnd(int topic) => atEnd[topic];

    /// <summary>Record timestamp (ms) of the oldest buffered record of input <paramref name="topic"/>, if any.</summary>
    public bool TryPeekTimestamp(int topic, out long timestamp)
    {
        var found = buffers[topic].TryPeek(out var head);
        timestamp = found ? head!.Message.Timestamp.UnixTimestampMs : 0;
        return found;
    }

    public int BufferedFor(int topic) => buffers[topic].Count;

    public void Enqueue(int topic, ConsumeResult<byte[]?, byte[]?> record)
    {
        buffers[topic].Enqueue(record);
        atEnd[topic] = false;
    }

    public void MarkEnd(int topic) => atEnd[topic] = true;

    /// <summary>Every assigned input partition has been read to its end and its buffer is empty.</summary>
    public bool IsCaughtUp
    {
        get
        {
            for (var i = 0; i < buffers.Length; i++)
            {
                if (assigned[i] && (!atEnd[i] || buffers[i].Count > 0))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// The buffered record with the smallest timestamp (ties: topic order, then offset), provided no assigned
    /// partition could still deliver one that comes before it. A partition with nothing buffered holds the task
    /// back when it is not known to be at its end (for at most <paramref name="maxIdleMs"/> from when it ran
    /// dry), or when it is at its end but its newest record is older than the candidate, or as old and earlier in
    /// topic order (for at most <paramref name="caughtUpIdleMs"/>): a producer writing the topics in timestamp
    /// order may not have appended that partition's next batch yet, so releasing the candidate at once would make
    /// a live run's order depend on batching and fetch timing, where a replay of the same topics would not.
    /// A partition ranks by its next record's timestamp, unless that record is a stray, stamped more than
    /// <paramref name="strayAheadMs"/> after the record right behind it (a timestamp of 0 that the client made "now",
    /// a producer's wrong clock): ranked by its own timestamp, it would hold the rest of its partition back until the
    /// other topics caught up with it, and all of it would come late. It ranks as the record behind it instead.
    /// Skew within the bound (producers' clocks, retries) keeps the usual rule, which leaves fewer records late when
    /// the next record really is the later event. Only the record behind counts: an old record deeper in the buffer
    /// (a late event) must not pull the ones before it ahead of the other topics. A partition whose only buffered
    /// record is stamped that far after the candidate, its end not known, holds the task like one with nothing
    /// buffered: the record behind it, not fetched yet, decides whether it is a stray that ranks before the candidate
    /// (a fetch may bring a single batch, and a backfill's stray is often a batch of its own).
    /// </summary>
    public bool TryTakeNext(long monotonicMs, int maxIdleMs, int caughtUpIdleMs, long strayAheadMs, out int topic, out ConsumeResult<byte[]?, byte[]?> record)
    {
        topic = -1;
        record = null!;
        var best = long.MaxValue;
        var stray = false;
        for (var i = 0; i < buffers.Length; i++)
        {
            if (assigned[i] && buffers[i].Count > 0)
            {
                var rank = RankOf(buffers[i], strayAheadMs, out var isStray);
                if (rank < best)
                {
                    (best, topic, stray) = (rank, i, isStray);
                }
            }
        }

        if (topic < 0)
        {
            // Nothing is held back: a wait starts when a record is.
            caughtUpSince = -1;
            Array.Fill(unreadSince, -1);
            Array.Clear(gaveUpOn);
            return false;
        }

        var hold = false;
        var caughtUpHolds = false;
        for (var i = 0; i < buffers.Length; i++)
        {
            var unread = assigned[i] && !atEnd[i] && (buffers[i].Count == 0 || (i != topic && IsStrayAlone(buffers[i], best, strayAheadMs)));
            if (!unread)
            {
                unreadSince[i] = -1;
                gaveUpOn[i] = false;
                caughtUpHolds |= assigned[i] && buffers[i].Count == 0
                    && (newestTimestamp[i] < best || (newestTimestamp[i] == best && i < topic));
                continue;
            }

            if (unreadSince[i] < 0)
            {
                unreadSince[i] = monotonicMs;
            }

            hold |= monotonicMs - unreadSince[i] < maxIdleMs;
        }

        if (caughtUpHolds)
        {
            if (caughtUpSince < 0)
            {
                caughtUpSince = monotonicMs;
            }

            hold |= monotonicMs - caughtUpSince < caughtUpIdleMs;
        }
        else
        {
            caughtUpSince = -1;
        }

        if (hold)
        {
            return false;
        }

        // Going on without a partition that has not delivered yet: one episode, however many records it takes.
        var gaveUp = false;
        for (var i = 0; i < buffers.Length; i++)
        {
            if (unreadSince[i] >= 0 && !gaveUpOn[i])
            {
                gaveUpOn[i] = true;
                gaveUp = true;
            }
        }

        if (gaveUp)
        {
            OutOfOrderEpisodes++;
        }

        // The newest a partition read to its end has delivered, for the wait above: a stray counts as the record
        // behind it, or one stamped "now" would end that partition's waits for good.
        record = buffers[topic].Dequeue();
        newestTimestamp[topic] = Math.Max(newestTimestamp[topic], best);
        if (stray)
        {
            Strays++;
        }

        return true;
    }

    /// <summary>The partition holds one record, stamped so far after the candidate that the next could show it a stray.</summary>
    private static bool IsStrayAlone(Queue<ConsumeResult<byte[]?, byte[]?>> buffer, long candidate, long strayAheadMs) =>
        buffer.Count == 1 && buffer.Peek().Message.Timestamp.UnixTimestampMs - candidate > strayAheadMs;

    /// <summary>A partition's rank: its next record's timestamp, or for a stray (<see cref="TryTakeNext"/>), the next but one's.</summary>
    private static long RankOf(Queue<ConsumeResult<byte[]?, byte[]?>> buffer, long strayAheadMs, out bool stray)
    {
        // The queue's struct enumerator: the second record without an allocation.
        using var records = buffer.GetEnumerator();
        records.MoveNext();
        var next = records.Current.Message.Timestamp.UnixTimestampMs;
        stray = records.MoveNext() && next - records.Current.Message.Timestamp.UnixTimestampMs > strayAheadMs;
        return stray ? records.Current.Message.Timestamp.UnixTimestampMs : next;
    }
}
