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
/// timers) and changelog partition; its input partitions are merged by <see cref="Inputs"/>. Used from the
/// worker's loop thread only.
/// </summary>
internal sealed class PartitionTask : IDisposable
{

    public PartitionTask(
        int partition, TopicOptions topics, FasterBuyerStateStore store, SymbolTable sellers, SymbolTable categories,
        SegmentPolicy policy, OutputProducer producer, SegmentStreamTelemetry telemetry, CommitMarker? restored)
    {
        var inputTopics = topics.Inputs.Count;
        Partition = partition;
        Store = store;
        Readings = new TaskReadings(partition, inputTopics);
        Sink = new TaskChangeSink(this, producer, topics, telemetry);
        Engine = new SegmentTask(policy, new BuyerCountingStore(store, Readings), Sink, sellers, categories, clock: restored?.Clock ?? EventTime.None);
        Parser = new EventParser(sellers, categories);
        LastTimestamps = new long[inputTopics];
        Inputs = new InputMerge(inputTopics);
        NextOffsets = restored?.NextOffsets.Length == inputTopics ? (long[])restored.NextOffsets.Clone() : Enumerable.Repeat(-1L, inputTopics).ToArray();
        FetchPositions = Enumerable.Repeat(-1L, inputTopics).ToArray();
        Epoch = BinaryPrimitives.ReadInt64LittleEndian(Guid.NewGuid().ToByteArray());
        PublishedPolicy = policy.Fingerprint();
        PublishedTables = topics.TablesFingerprint();
        Store.Observer = Changelog;
    }

    public int Partition { get; }

    public FasterBuyerStateStore Store { get; }

    public SegmentTask Engine { get; }

    public EventParser Parser { get; }

    public BuyerEvent Scratch { get; } = new();

    public TaskChangeSink Sink { get; }

    public ChangelogBuffer Changelog { get; } = new();

    /// <summary>The task's input partitions, buffered and merged in timestamp order.</summary>
    public InputMerge Inputs { get; }

    /// <summary>This task's numbers for the worker's gauges.</summary>
    public TaskReadings Readings { get; }

    /// <summary>Record timestamp (ms) of the last record processed, per input topic; for how far behind a partition is.</summary>
    public long[] LastTimestamps { get; }

    /// <summary>Next offset to process, per input topic; -1 until the task has processed or restored one.</summary>
    public long[] NextOffsets { get; }

    /// <summary>
    /// Next offset the consumer should hand out, per input topic: where the partition was assigned from, then past the
    /// last record (or at the end) it handed out; -1 when not known. A record beyond it is a gap to account for.
    /// </summary>
    public long[] FetchPositions { get; }

    public long Epoch { get; }

    /// <summary>
    /// Moves an input's next offset to the consumer's position once every record handed out before it is applied:
    /// what lies between (a transaction's commit marker, aborted or compacted records, records deleted unread) holds
    /// nothing to apply. Committed, so that a quiet partition shows no lag and a restart does not find the same
    /// deleted records missing again.
    /// </summary>
    public void SkipToFetchPosition(int topic)
    {
        if (FetchPositions[topic] > NextOffsets[topic] && Inputs.BufferedFor(topic) == 0)
        {
            NextOffsets[topic] = FetchPositions[topic];
            Dirty = true;
        }
    }

    /// <summary>Commits this incarnation has made.</summary>
    public long Sequence { get; private set; }

    /// <summary>Whether anything (records, timers, writes) happened since the last commit.</summary>
    public bool Dirty { get; set; }

    /// <summary>Whether the task is caught up but held back from the wall clock, going through history (logged once per episode).</summary>
    public bool WallClockHeldBack { get; set; }

    /// <summary>Wall-clock time (Unix ms) the task last received a record at, or was restored at; none: <see cref="long.MinValue"/>.</summary>
    public long LastRecordAt { get; set; } = long.MinValue;

    /// <summary>Changelog offset just past the newest committed marker; where a restore from a checkpoint starts.</summary>
    public long NextChangelogOffset { get; set; }

    public long LastCheckpointAt { get; set; }

    /// <summary>The store's log tail at the newest checkpoint (or at restore): what the next one makes durable starts there.</summary>
    public long CheckpointedTailAddress { get; set; }

    public bool CheckpointedSinceCommit { get; set; } = true;

    /// <summary>
    /// <see cref="SegmentPolicy.Fingerprint"/> of the policy the task's published segments follow, written with every
    /// marker and checkpoint: the current policy's, or <see cref="MixedPolicies"/> while the task re-evaluates state
    /// restored from another (so that a crash or a handover meanwhile re-evaluates again, under whichever policy).
    /// </summary>
    public ulong PublishedPolicy { get; set; }

    /// <summary>Segments published partly under one policy, partly under another: never a fingerprint (those are odd).</summary>
    public const ulong MixedPolicies = 2;

    /// <summary>Buyers still to re-evaluate under the current policy, null when none; the task's records wait for them.</summary>
    public Queue<byte[]>? PendingReevaluation { get; set; }

    /// <summary>
    /// <see cref="TopicOptions.TablesFingerprint"/> of the current-state tables that hold the task's whole state, written
    /// with every marker and checkpoint: the restored one until <see cref="PendingTableFill"/> is done, so that a crash or
    /// a handover meanwhile fills them again.
    /// </summary>
    public ulong PublishedTables { get; set; }

    /// <summary>Buyers still to restate to the current-state tables, null when none; the task's records wait for them.</summary>
    public Queue<byte[]>? PendingTableFill { get; set; }

    /// <summary>Records the fill has written so far (for the log).</summary>
    public long TableFillRecords { get; set; }

    /// <summary>Facts of cats(s) restored from an earlier build's state that were never published; published from the loop.</summary>
    public List<(int Seller, int Category)>? UnpublishedFacts { get; set; }

    /// <summary>How many of <see cref="UnpublishedFacts"/> have been handed over so far (for the log).</summary>
    public long HandedOverFacts { get; set; }

    /// <summary>The engine's change count when re-evaluation began, to report what it published.</summary>
    public long ChangesBeforeReevaluation { get; set; }

    /// <summary>What the metric and the warning have said of the engine's <see cref="TaskCounters.EventIdsForgottenEarly"/>.</summary>
    public RunningTotal ForgottenEarly { get; } = new();

    /// <summary>What the warning has said of <see cref="InputMerge.Strays"/>.</summary>
    public RunningTotal Strays { get; } = new();

    /// <summary>Records applied older than the task's clock, for the warning.</summary>
    public LateRecords LateRecords { get; } = new();

    public string CurrentCommitId => CommitMarker.CommitId(Partition, Epoch, Sequence + 1);

    /// <summary>Publishes every state write buffered since the last commit to the task's changelog partition.</summary>
    public void WriteChangelog(OutputProducer producer, string changelogTopic)
    {
        var destination = new TopicPartition(changelogTopic, Partition);
        Changelog.Drain((key, payload) => producer.Produce(destination, key, payload, Sink.CommitHeaders(), null));
    }

    /// <summary>
    /// Seals the commit with its marker, after the task's changelog records (same partition, so never before them).
    /// On a broker without transaction isolation, call it only once every other record of the transaction is
    /// delivered (<see cref="SegmentStreamOptions.DeliverBeforeMarkers"/>): then a marker that can be read always
    /// means its commit's outputs can be too.
    /// </summary>
    public void WriteMarker(OutputProducer producer, string changelogTopic, Action<long> onMarkerDelivered)
    {
        var marker = new CommitMarker(Epoch, Sequence + 1, Engine.Clock.Now, (long[])NextOffsets.Clone(), PublishedPolicy, PublishedTables);
        var headers = new Headers();
        foreach (var header in Sink.CommitHeaders())
        {
            headers.Add(header); // a copy: the commit's shared headers must stay as they are
        }

        headers.Add(CommitMarker.PolicyHeader, marker.PolicyBytes());
        headers.Add(CommitMarker.TablesHeader, marker.TablesBytes());
        producer.Produce(new TopicPartition(changelogTopic, Partition), marker.Key, marker.Serialize(), headers, report =>
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

    public CommitMarker CurrentMarker => new(Epoch, Sequence, Engine.Clock.Now, (long[])NextOffsets.Clone(), PublishedPolicy, PublishedTables);

    public void Dispose()
    {
        Store.Observer = null;
        Sink.Dispose();
        Changelog.Dispose();
        Store.Dispose();
    }
}
