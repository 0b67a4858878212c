using StreamSegments.Core.Rules;
using StreamSegments.Core.State;

namespace StreamSegments.Kafka.Telemetry;

/// <summary>
/// One task's numbers for the gauges: written by the loop thread (as changes happen, and at each commit), read by
/// whichever thread collects metrics. Every field is a single 64-bit value, so a reader never sees a torn one.
/// </summary>
internal sealed class TaskReadings
{
    /// <summary>Segment.None through Segment.Sleeping: the segments a pair's changes move between.</summary>
    public const int DirectSegments = (int)Segment.Sleeping + 1;

    private const int Segments = DirectSegments;

    private readonly long[] pairs = new long[Segments];
    private readonly long[] uncommittedChanges = new long[Segments * Segments];
    private readonly long[] uncommittedInterest = new long[2];
    private readonly long[] lagRecords;
    private readonly long[] lagMs;
    private long clockLagMs = long.MinValue;
    private long checkpointBytes = -1;
    private long uncheckpointedSinceTicks = -1;
    private long buyers;
    private long memoryBytes;
    private long diskBytes;

    public TaskReadings(int task, int inputTopics)
    {
        Task = task;
        PartitionId = task.ToString(System.Globalization.CultureInfo.InvariantCulture);
        lagRecords = Enumerable.Repeat(-1L, inputTopics).ToArray();
        lagMs = Enumerable.Repeat(-1L, inputTopics).ToArray();
    }

    public int Task { get; }

    public string PartitionId { get; }

    public long? ClockLagMs => Volatile.Read(ref clockLagMs) is var lag && lag != long.MinValue ? lag : null;

    public long? CheckpointBytes => Volatile.Read(ref checkpointBytes) is var bytes && bytes >= 0 ? bytes : null;

    /// <summary><see cref="Environment.TickCount64"/> of the oldest commit no checkpoint covers yet; null when there is none.</summary>
    public long? UncheckpointedSinceTicks => Volatile.Read(ref uncheckpointedSinceTicks) is var since && since >= 0 ? since : null;

    public long Buyers => Volatile.Read(ref buyers);

    public long MemoryBytes => Volatile.Read(ref memoryBytes);

    public long DiskBytes => Volatile.Read(ref diskBytes);

    public long PairsIn(Segment segment) => Volatile.Read(ref pairs[(int)segment]);

    /// <summary>Records of input <paramref name="topic"/> not yet processed; -1 while unknown (not assigned, or no fetch yet).</summary>
    public long LagRecords(int topic) => Volatile.Read(ref lagRecords[topic]);

    /// <summary>How far input <paramref name="topic"/> is behind, in ms; -1 while unknown.</summary>
    public long LagMs(int topic) => Volatile.Read(ref lagMs[topic]);

    /// <summary>A restored buyer: its pairs count towards the segment they were last published as.</summary>
    public void Restored(BuyerState buyer)
    {
        foreach (var pair in buyer.Pairs)
        {
            if (pair.Published != Segment.None)
            {
                pairs[(int)pair.Published]++;
            }
        }

        buyers++;
    }

    public void SegmentChanged(Segment from, Segment to)
    {
        pairs[(int)from]--;
        pairs[(int)to]++;
        uncommittedChanges[((int)from * Segments) + (int)to]++;
    }

    public void CategoryInterestChanged(bool entered) => uncommittedInterest[entered ? 1 : 0]++;

    public void BuyerAdded() => buyers++;

    public void BuyerRemoved() => buyers--;

    /// <summary>Adds what this task published in the committed transaction to the worker's totals; returns how many changes that was.</summary>
    public (long SegmentChanges, long CategoryInterestChanges) FoldCommitted(long[] segmentChanges, long[] interestChanges)
    {
        if (Volatile.Read(ref uncheckpointedSinceTicks) < 0)
        {
            Volatile.Write(ref uncheckpointedSinceTicks, Environment.TickCount64);
        }

        return (Fold(uncommittedChanges, segmentChanges), Fold(uncommittedInterest, interestChanges));
    }

    public void DiscardUncommitted()
    {
        Array.Clear(uncommittedChanges);
        Array.Clear(uncommittedInterest);
    }

    public void Lag(int topic, long records, long ms)
    {
        Volatile.Write(ref lagRecords[topic], records);
        Volatile.Write(ref lagMs[topic], ms);
    }

    public void Clock(long lagMilliseconds) => Volatile.Write(ref clockLagMs, lagMilliseconds);

    public void Store(long memory, long disk)
    {
        Volatile.Write(ref memoryBytes, memory);
        Volatile.Write(ref diskBytes, disk);
    }

    public void Checkpointed(long bytes)
    {
        Volatile.Write(ref checkpointBytes, bytes);
        Volatile.Write(ref uncheckpointedSinceTicks, -1);
    }

    private static long Fold(long[] uncommitted, long[] totals)
    {
        long folded = 0;
        for (var i = 0; i < uncommitted.Length; i++)
        {
            if (uncommitted[i] != 0)
            {
                Volatile.Write(ref totals[i], totals[i] + uncommitted[i]);
                folded += uncommitted[i];
                uncommitted[i] = 0;
            }
        }

        return folded;
    }
}
