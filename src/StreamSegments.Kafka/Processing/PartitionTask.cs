using System.Buffers.Binary;
using Confluent.Kafka;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// One task: partition <see cref="Partition"/> of each input topic, with its own FASTER store, engine (clock,
/// timers) and changelog partition. Buffers the records the consumer hands it and releases them in timestamp
/// order across the input topics (<see cref="TryTakeNext"/>). Used from the worker's loop thread only.
/// </summary>
internal sealed class PartitionTask : IDisposable
{
    private readonly Queue<ConsumeResult<byte[]?, byte[]?>>[] buffers;
    private readonly bool[] atEnd;
    private readonly bool[] assigned;
    private readonly long[] newestTimestamp;
    private long idleSince = -1;
    private bool gaveUpWaiting;

    public PartitionTask(
        int partition, int inputTopics, FasterBuyerStateStore store, SymbolTable sellers, SymbolTable categories,
        SegmentPolicy policy, TaskChangeSink sink, CommitMarker? restored)
    {
        Partition = partition;
        Store = store;
        Sink = sink;
        Readings = new TaskReadings(partition, inputTopics);
        Engine = new SegmentTask(policy, new BuyerCountingStore(store, Readings), sink, sellers, categories, clock: restored?.Clock ?? EventTime.None);
        Parser = new EventParser(sellers, categories);
        buffers = Enumerable.Range(0, inputTopics).Select(_ => new Queue<ConsumeResult<byte[]?, byte[]?>>()).ToArray();
        atEnd = new bool[inputTopics];
        LastTimestamps = new long[inputTopics];
        assigned = new bool[inputTopics];
        newestTimestamp = Enumerable.Repeat(long.MinValue, inputTopics).ToArray();
        NextOffsets = restored?.NextOffsets.Length == inputTopics ? (long[])restored.NextOffsets.Clone() : Enumerable.Repeat(-1L, inputTopics).ToArray();
        Epoch = BinaryPrimitives.ReadInt64LittleEndian(Guid.NewGuid().ToByteArray());
        sink.Task = this;
        Store.Observer = Changelog;
    }

    public int Partition { get; }

    public FasterBuyerStateStore Store { get; }

    public SegmentTask Engine { get; }

    public EventParser Parser { get; }

    public BuyerEvent Scratch { get; } = new();

    public TaskChangeSink Sink { get; }

    public ChangelogBuffer Changelog { get; } = new();

    /// <summary>This task's numbers for the worker's gauges.</summary>
    public TaskReadings Readings { get; }

    /// <summary>Record timestamp (ms) of the last record processed, per input topic; for how far behind a partition is.</summary>
    public long[] LastTimestamps { get; }

    /// <summary>Next offset to process, per input topic; -1 until the task has processed or restored one.</summary>
    public long[] NextOffsets { get; }

    public long Epoch { get; }

    /// <summary>Commits this incarnation has made.</summary>
    public long Sequence { get; private set; }

    /// <summary>
    /// Times this task stopped waiting for an input partition it had no records of (none fetched, not known to be
    /// read to its end) and took the other topics' records out of timestamp order: where a live run may differ
    /// from a replay of the same topics.
    /// </summary>
    public long OutOfOrderEpisodes { get; private set; }

    /// <summary>Whether anything (records, timers, writes) happened since the last commit.</summary>
    public bool Dirty { get; set; }

    /// <summary>Changelog offset just past the newest committed marker; where a restore from a checkpoint starts.</summary>
    public long NextChangelogOffset { get; set; }

    public long LastCheckpointAt { get; set; }

    /// <summary>The store's log tail at the newest checkpoint (or at restore): what the next one makes durable starts there.</summary>
    public long CheckpointedTailAddress { get; set; }

    public bool CheckpointedSinceCommit { get; set; } = true;

    public string CurrentCommitId => CommitMarker.CommitId(Partition, Epoch, Sequence + 1);

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
        newestTimestamp[topic] = Math.Max(newestTimestamp[topic], record.Message.Timestamp.UnixTimestampMs);
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
    /// partition could still deliver an earlier one. A partition with nothing buffered holds the task back when it
    /// is not known to be at its end (for at most <paramref name="maxIdleMs"/>), or when it is at its end but its
    /// newest record is older than the candidate (for at most <paramref name="caughtUpIdleMs"/>): a producer
    /// writing the topics in timestamp order may not have appended that partition's next batch yet, so releasing
    /// the candidate at once would make a live run's order depend on batching and fetch timing, where a replay of
    /// the same topics would not.
    /// </summary>
    public bool TryTakeNext(long monotonicMs, int maxIdleMs, int caughtUpIdleMs, out int topic, out ConsumeResult<byte[]?, byte[]?> record)
    {
        topic = -1;
        record = null!;
        var best = long.MaxValue;
        for (var i = 0; i < buffers.Length; i++)
        {
            if (assigned[i] && buffers[i].TryPeek(out var head) && head.Message.Timestamp.UnixTimestampMs < best)
            {
                best = head.Message.Timestamp.UnixTimestampMs;
                topic = i;
            }
        }

        if (topic < 0)
        {
            idleSince = -1;
            gaveUpWaiting = false;
            return false;
        }

        var limit = -1;
        var unread = false;
        for (var i = 0; i < buffers.Length; i++)
        {
            if (!assigned[i] || buffers[i].Count > 0)
            {
                continue;
            }

            if (!atEnd[i])
            {
                limit = Math.Max(limit, maxIdleMs);
                unread = true;
            }
            else if (newestTimestamp[i] < best)
            {
                limit = Math.Max(limit, caughtUpIdleMs);
            }
        }

        if (limit >= 0)
        {
            if (idleSince < 0)
            {
                idleSince = monotonicMs;
            }

            if (monotonicMs - idleSince < limit)
            {
                return false;
            }

            if (unread && !gaveUpWaiting)
            {
                gaveUpWaiting = true;
                OutOfOrderEpisodes++;
            }
        }
        else
        {
            idleSince = -1;
            gaveUpWaiting = false;
        }

        record = buffers[topic].Dequeue();
        return true;
    }

    /// <summary>Publishes every state write buffered since the last commit to the task's changelog partition.</summary>
    public void WriteChangelog(OutputProducer producer, string changelogTopic)
    {
        var destination = new TopicPartition(changelogTopic, Partition);
        Changelog.Drain((key, payload) => producer.Produce(destination, key, payload, Sink.CommitHeaders(), null));
    }

    /// <summary>
    /// Seals the commit with its marker. Call only once every other record of the transaction is delivered: then
    /// a marker that can be read always means its commit's records can be too, whatever the broker's isolation.
    /// </summary>
    public void WriteMarker(OutputProducer producer, string changelogTopic, Action<long> onMarkerDelivered)
    {
        var marker = new CommitMarker(Epoch, Sequence + 1, Engine.Clock.Now, (long[])NextOffsets.Clone());
        producer.Produce(new TopicPartition(changelogTopic, Partition), marker.Key, marker.Serialize(), Sink.CommitHeaders(), report =>
        {
            if (report.Error.Code == ErrorCode.NoError)
            {
                onMarkerDelivered(report.Offset.Value);
            }
        });
    }

    public void Committed()
    {
        Sequence++;
        Dirty = false;
        CheckpointedSinceCommit = false;
    }

    public CommitMarker CurrentMarker => new(Epoch, Sequence, Engine.Clock.Now, (long[])NextOffsets.Clone());

    public void Dispose()
    {
        Store.Observer = null;
        Sink.Dispose();
        Changelog.Dispose();
        Store.Dispose();
    }
}
