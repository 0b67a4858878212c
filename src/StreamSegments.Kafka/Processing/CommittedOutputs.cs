using System.Buffers.Text;

namespace StreamSegments.Kafka.Processing;

/// <summary>What <see cref="CommittedOutputs{TRecord}.Offer"/> did with a record.</summary>
public enum OutputCommitState
{
    /// <summary>Its commit is sealed: the record is committed output, for the caller to take now.</summary>
    Committed = 0,

    /// <summary>Kept until a marker seals its commit, or until the commit is given up.</summary>
    Held = 1,

    /// <summary>It names no commit of the worker (no or a malformed <see cref="CommitMarker.Header"/>): not output of a commit.</summary>
    NoCommit = 2,
}

/// <summary>
/// How a reader of the worker's outputs sees committed records only on a broker that does not isolate transactions
/// (the embedded one shows read_committed readers the records of open and aborted transactions too): each output
/// record is held until a commit marker on the changelog seals its commit. A marker seals every commit of its
/// incarnation up to its sequence, as a restore reads them (<see cref="ChangelogRestore"/>), so a marker that
/// compaction removed is covered by a later one. A commit no marker sealed within <c>giveUpAfter</c> of its first
/// record is dropped: its incarnation ended before committing it (the broker aborts a transaction left open past
/// its timeout). On Kafka itself read_committed is enough; this is for the embedded broker and its tests.
/// </summary>
/// <typeparam name="TRecord">What the caller keeps of a record until it is released.</typeparam>
public sealed class CommittedOutputs<TRecord>
{
    private readonly Dictionary<Incarnation, long> sealedThrough = [];
    private readonly Dictionary<Incarnation, SortedList<long, HeldCommit>> held = [];
    private readonly TimeSpan giveUpAfter;
    private readonly TimeProvider time;

    public CommittedOutputs(TimeSpan giveUpAfter, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(giveUpAfter, TimeSpan.Zero);
        this.giveUpAfter = giveUpAfter;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Records held, waiting for their commit's marker.</summary>
    public int HeldCount { get; private set; }

    /// <summary>Records dropped because no marker sealed their commit in time.</summary>
    public long GivenUpCount { get; private set; }

    /// <summary>Offers an output record with its <see cref="CommitMarker.Header"/> value; held unless its commit is sealed.</summary>
    public OutputCommitState Offer(ReadOnlySpan<byte> commitId, TRecord record)
    {
        if (!TryParse(commitId, out var incarnation, out var sequence))
        {
            return OutputCommitState.NoCommit;
        }

        if (sealedThrough.TryGetValue(incarnation, out var through) && sequence <= through)
        {
            return OutputCommitState.Committed;
        }

        if (!held.TryGetValue(incarnation, out var commits))
        {
            held[incarnation] = commits = [];
        }

        if (!commits.TryGetValue(sequence, out var commit))
        {
            commits[sequence] = commit = new HeldCommit(time.GetUtcNow());
        }

        commit.Records.Add(record);
        HeldCount++;
        return OutputCommitState.Held;
    }

    /// <summary>
    /// A marker read from the changelog, by its <see cref="CommitMarker.Header"/> value: adds the held records it
    /// seals to <paramref name="released"/>, commit by commit, each commit's in the order they were offered.
    /// </summary>
    public void Seal(ReadOnlySpan<byte> commitId, ICollection<TRecord> released)
    {
        ArgumentNullException.ThrowIfNull(released);
        if (!TryParse(commitId, out var incarnation, out var sequence))
        {
            return;
        }

        sealedThrough[incarnation] = Math.Max(sealedThrough.GetValueOrDefault(incarnation), sequence);
        if (!held.TryGetValue(incarnation, out var commits))
        {
            return;
        }

        while (commits.Count > 0 && commits.Keys[0] <= sequence)
        {
            foreach (var record in commits.Values[0].Records)
            {
                released.Add(record);
            }

            HeldCount -= commits.Values[0].Records.Count;
            commits.RemoveAt(0);
        }

        if (commits.Count == 0)
        {
            held.Remove(incarnation);
        }
    }

    /// <summary>Drops the commits whose first record was offered longer than the give-up time ago; returns the records dropped.</summary>
    public int GiveUpStale()
    {
        var cutoff = time.GetUtcNow() - giveUpAfter;
        var dropped = 0;
        foreach (var (incarnation, commits) in held)
        {
            for (var i = commits.Count - 1; i >= 0; i--)
            {
                if (commits.Values[i].FirstOffered <= cutoff)
                {
                    dropped += commits.Values[i].Records.Count;
                    commits.RemoveAt(i);
                }
            }

            if (commits.Count == 0)
            {
                held.Remove(incarnation);
            }
        }

        HeldCount -= dropped;
        GivenUpCount += dropped;
        return dropped;
    }

    /// <summary>A commit id <c>task:epoch:sequence</c> (<see cref="CommitMarker.CommitId"/>).</summary>
    private static bool TryParse(ReadOnlySpan<byte> commitId, out Incarnation incarnation, out long sequence)
    {
        incarnation = default;
        var colon = commitId.IndexOf((byte)':');
        if (colon <= 0 || !Utf8Parser.TryParse(commitId[..colon], out int task, out var taskLength) || taskLength != colon
            || !CommitMarker.TryParseCommitId(commitId, out var epoch, out sequence))
        {
            sequence = 0;
            return false;
        }

        incarnation = new Incarnation(task, epoch);
        return true;
    }

    private readonly record struct Incarnation(int Task, long Epoch);

    private sealed class HeldCommit(DateTimeOffset firstOffered)
    {
        public DateTimeOffset FirstOffered { get; } = firstOffered;

        public List<TRecord> Records { get; } = [];
    }
}
