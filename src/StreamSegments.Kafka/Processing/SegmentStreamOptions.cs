using System.ComponentModel.DataAnnotations;
using StreamSegments.Core.Rules;

namespace StreamSegments.Kafka.Processing;

/// <summary>The Kafka worker's options (section <c>Kafka</c>).</summary>
public sealed class SegmentStreamOptions : IValidatableObject
{
    public const string SectionName = "Kafka";

    /// <summary>Brokers to connect to; empty runs the embedded broker in-process (README, "The run verb").</summary>
    public string? BootstrapServers { get; set; }

    [Required]
    public string GroupId { get; set; } = "streamsegments";

    /// <summary>
    /// Stable name of this instance; with the group it makes the transactional id, so a restarted instance
    /// fences its predecessor's open transaction. Defaults to the machine name.
    /// </summary>
    public string? InstanceId { get; set; }

    [Required]
    public TopicOptions Topics { get; set; } = new();

    /// <summary>Buyers restated per loop pass while a task fills the current-state tables (a small value lets tests stop one mid-fill).</summary>
    internal int RestateBatchBuyers { get; set; } = 4096;

    /// <summary>How often outputs, changelog and input offsets are committed in one transaction.</summary>
    [Range(10, 60_000)]
    public int CommitIntervalMs { get; set; } = 100;

    /// <summary>How often each task's FASTER store is checkpointed (bounding the changelog tail a restore reads).</summary>
    [Range(1_000, 86_400_000)]
    public int CheckpointIntervalMs { get; set; } = 60_000;

    /// <summary>
    /// A task's local checkpoint older than this (by the wall clock) is not used: the task restores from the
    /// changelog's beginning instead. Keep it below the changelog's <c>delete.retention.ms</c> (Kafka's default:
    /// 24 h). A checkpoint older than that may predate tombstones compaction has already removed (a task that
    /// was away on another instance for days), and restoring it would bring those deleted buyers back.
    /// </summary>
    [Range(60_000, long.MaxValue, ErrorMessage = "The field {0} must be at least {1}.")]
    public long MaxCheckpointAgeMs { get; set; } = 12 * 3_600_000L;

    /// <summary>
    /// How long a task waits for an input partition that has no buffered record and is not known to be caught
    /// up (or only one, which the record behind it may show to be a stray: <see cref="InputMerge.TryTakeNext"/>),
    /// before taking records of the others (which would break strict timestamp order across topics).
    /// </summary>
    [Range(0, 600_000)]
    public int MaxTaskIdleMs { get; set; } = 2_000;

    /// <summary>
    /// How long a task waits for an input partition that is read to its end but whose newest record is older than
    /// the record the task would take next: time for a producer's batch to that partition, sent just after the
    /// others, to arrive. The price is latency when a partition is sparse (at most this long per record).
    /// </summary>
    [Range(0, 600_000)]
    public int CaughtUpIdleMs { get; set; } = 250;

    /// <summary>When a task is caught up, its clock follows the wall clock minus <see cref="AllowedLatenessMs"/>.</summary>
    public bool FollowWallClock { get; set; } = true;

    [Range(0, 86_400_000)]
    public int AllowedLatenessMs { get; set; } = 5_000;

    /// <summary>
    /// How far behind the wall clock (minus <see cref="AllowedLatenessMs"/>) a caught-up task's clock may be and
    /// still follow it while records keep arriving (see <see cref="HistoryIdleMs"/>). Further behind, with a record
    /// received in the last <see cref="HistoryIdleMs"/>, the task is going through history produced slower than it
    /// is read (a backfill): moving its clock to now would make the rest of that history late records, stamped with
    /// now, so it waits. The same bound tells history from live skew elsewhere: a record this much later than its
    /// task's clock is warned of, and one stamped this much ahead of the records behind it in its partition is a stray
    /// that does not hold them back (<see cref="InputMerge.TryTakeNext"/>).
    /// </summary>
    [Range(0, long.MaxValue, ErrorMessage = "The field {0} must be at least {1}.")]
    public long FollowWallClockWithinMs { get; set; } = 3_600_000;

    /// <summary>
    /// How long a task far behind the wall clock (<see cref="FollowWallClockWithinMs"/>) waits for more history after
    /// its last record before it follows the wall clock anyway: the history has ended (a one-off import, a quiet
    /// partition). A restore counts as a record: a backfill resumed within this time after a restart is still held
    /// back; the price is that a quiet task, whose restored clock may be hours old (following commits nothing), follows
    /// the wall clock only this long after its restore.
    /// </summary>
    [Range(0, long.MaxValue, ErrorMessage = "The field {0} must be at least {1}.")]
    public long HistoryIdleMs { get; set; } = 60_000;

    /// <summary>Records claiming a time further than this ahead of the wall clock go to the dead-letter topic.</summary>
    [Range(0, 86_400_000)]
    public int MaxFutureSkewMs { get; set; } = 3_600_000;

    /// <summary>
    /// Largest dead letter: its key, value and headers (the reason and source ones, the original's while they take
    /// at most a quarter of it) and Kafka's framing of them. A bad record that would not fit (a record over 1 MiB is
    /// bad by definition) is dead-lettered with its value cut to fit and headers <c>segments-truncated</c> and
    /// <c>segments-original-size</c>; the source topic, partition and offset headers still locate the original.
    /// The default fits Kafka's default <c>max.message.bytes</c> (1,048,588): a dead letter the broker refuses
    /// would fail the transaction at every retry and stop the worker. Raise it with the dead-letter topic's limit.
    /// </summary>
    [Range(4_096, 64 << 20)]
    public int DeadLetterMaxBytes { get; set; } = 1_000_000;

    /// <summary>
    /// The partitioner the input topics' producers use (<c>murmur2</c>: Java clients, Kafka Streams; <c>crc32</c>:
    /// librdkafka's default). When set, a record on another partition than that partitioner's for its key goes to the
    /// dead-letter topic (<c>wrong-partition</c>) instead of being applied in a task that does not hold its buyer's
    /// other records: producers with different partitioners would otherwise split a buyer between two tasks, each
    /// publishing segments for the same pairs. <c>any</c> (the default) trusts the producers to agree.
    /// </summary>
    public InputPartitioner InputPartitioner { get; set; } = InputPartitioner.Any;

    /// <summary>
    /// Wait until every record of a transaction is delivered before producing its commit markers. Only a broker
    /// that does not isolate transactions needs it (the embedded broker: its read_committed readers see open and
    /// aborted records), where a crash after the markers but before the outputs would leave markers sealing
    /// outputs that never arrived. On Kafka the markers commit or abort with the rest, so the default is off: the
    /// wait is a round trip per commit (p99 latency at 20,000 events/s about a quarter higher with it, README).
    /// <c>run</c> turns it on when it starts the embedded broker itself.
    /// </summary>
    public bool DeliverBeforeMarkers { get; set; }

    /// <summary>Records buffered per input partition before it is paused (bounds memory when one topic runs ahead).</summary>
    [Range(16, 1_000_000)]
    public int MaxBufferedPerPartition { get; set; } = 20_000;

    /// <summary>
    /// librdkafka settings for every client of the worker (e.g. <c>security.protocol</c>, <c>linger.ms</c>); they
    /// win over the worker's defaults. The settings in <see cref="ReservedClientSettings"/> are the worker's own.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];

    /// <summary>
    /// Settings <see cref="Client"/> may not set to anything but the worker's own value (<see cref="WorkerValueOf"/>),
    /// with the reason: the worker sets them itself. Naming one with the worker's value (exactly-once profiles do)
    /// is allowed.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ReservedClientSettings { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["bootstrap.servers"] = "set Kafka:BootstrapServers instead",
        ["metadata.broker.list"] = "set Kafka:BootstrapServers instead",
        ["group.id"] = "set Kafka:GroupId instead",
        ["transactional.id"] = "it is Kafka:GroupId and Kafka:InstanceId",
        ["enable.idempotence"] = "transactions need it",
        ["partitioner"] = "every instance must send a buyer's changes to one partition, the Java client's (murmur2_random)",
        ["enable.auto.commit"] = "input offsets are committed only in the transaction with the outputs",
        ["enable.auto.offset.store"] = "input offsets are committed only in the transaction with the outputs",
        ["isolation.level"] = "only committed records may be read (read_committed)",
        ["auto.offset.reset"] = "a partition with no committed position is read from its beginning, or its records would be skipped (move a group's positions with Kafka's tools instead)",
        ["enable.partition.eof"] = "the timestamp merge must know when a partition is read to its end",
        ["group.protocol"] = "partition p of every input topic must go to one member (classic protocol, range assignor)",
        ["partition.assignment.strategy"] = "partition p of every input topic must go to one member (classic protocol, range assignor)",
    };

    public string TransactionalId => $"{GroupId}-{InstanceId ?? Environment.MachineName}";

    /// <summary>The producer's transaction timeout: Kafka:Client:transaction.timeout.ms, librdkafka's 60 s by default.</summary>
    public int TransactionTimeoutMs => IntSetting("transaction.timeout.ms", 60_000);

    /// <summary>
    /// How long a restore waits for a transaction left open on its changelog: one a killed instance left is aborted
    /// by the coordinator after the transaction timeout (the same setting on every instance of one deployment).
    /// </summary>
    internal TimeSpan RestorePatience => TimeSpan.FromMilliseconds(TransactionTimeoutMs + (long)RestoreGraceMs);

    private const int RestoreGraceMs = 30_000;

    /// <summary>What the worker sets a reserved client setting to (null: nothing it could be set to instead).</summary>
    private string? WorkerValueOf(string key) => key.ToLowerInvariant() switch
    {
        "bootstrap.servers" or "metadata.broker.list" => BootstrapServers,
        "group.id" => GroupId,
        "transactional.id" => TransactionalId,
        "enable.idempotence" or "enable.partition.eof" => "true",
        "enable.auto.commit" or "enable.auto.offset.store" => "false",
        "isolation.level" => "read_committed",
        "auto.offset.reset" => "earliest",
        "group.protocol" => "classic",
        "partition.assignment.strategy" => "range",
        "partitioner" => "murmur2_random",
        _ => null,
    };

    private int IntSetting(string key, int librdkafkaDefault) =>
        Client.TryGetValue(key, out var configured) && int.TryParse(configured, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : librdkafkaDefault;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var inputs = Topics.Inputs;
        var all = inputs.Concat([Topics.SegmentChanges, Topics.CategoryInterestChanges, Topics.Changelog, Topics.DeadLetter, Topics.SellerCategories, .. Topics.Tables]).ToList();
        if (all.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("Every topic name must be set (an optional one to a name, or empty to leave it out).", [nameof(Topics)]);
        }
        else if (all.Distinct(StringComparer.Ordinal).Count() != all.Count)
        {
            yield return new ValidationResult("Topic names must be distinct.", [nameof(Topics)]);
        }

        // A transaction stays open for a commit interval plus the commit; the broker aborts one that outlives
        // transaction.timeout.ms, and an aborted commit stops the worker.
        var transactionTimeoutMs = TransactionTimeoutMs;
        if (CommitIntervalMs > transactionTimeoutMs / 4)
        {
            yield return new ValidationResult(
                $"CommitIntervalMs ({CommitIntervalMs}) must be at most a quarter of the transaction timeout ({transactionTimeoutMs} ms, Kafka:Client:transaction.timeout.ms).",
                [nameof(CommitIntervalMs)]);
        }

        // A restore runs inside the consumer's rebalance callback, where the instance cannot rejoin its group: a
        // rebalance that starts while it waits out an open transaction would evict the instance (max.poll.interval.ms
        // is the classic protocol's rebalance timeout) and send its tasks to be restored again elsewhere.
        var maxPollIntervalMs = IntSetting("max.poll.interval.ms", 300_000);
        if (RestorePatience.TotalMilliseconds >= maxPollIntervalMs)
        {
            yield return new ValidationResult(
                $"A restore may wait the transaction timeout plus {RestoreGraceMs / 1000} s ({RestorePatience.TotalMilliseconds} ms, Kafka:Client:transaction.timeout.ms) for a transaction " +
                $"a stopped instance left open, which must be less than Kafka:Client:max.poll.interval.ms ({maxPollIntervalMs}).",
                [nameof(Client)]);
        }

        if (MaxCheckpointAgeMs <= CheckpointIntervalMs)
        {
            yield return new ValidationResult(
                $"MaxCheckpointAgeMs ({MaxCheckpointAgeMs}) must be longer than CheckpointIntervalMs ({CheckpointIntervalMs}), or a crash would always restore from the changelog's beginning.",
                [nameof(MaxCheckpointAgeMs)]);
        }

        if (!Enum.IsDefined(InputPartitioner))
        {
            yield return new ValidationResult($"InputPartitioner must be one of: {string.Join(", ", Enum.GetNames<InputPartitioner>())}.", [nameof(InputPartitioner)]);
        }

        foreach (var (key, value) in Client)
        {
            if (ReservedClientSettings.TryGetValue(key, out var reason) && !string.Equals(value, WorkerValueOf(key), StringComparison.OrdinalIgnoreCase))
            {
                yield return new ValidationResult($"Kafka:Client:{key} is the worker's own setting, {WorkerValueOf(key) ?? "set from other options"} ({reason}).", [nameof(Client)]);
            }
        }

        // The worker's own settings are answered above.
        foreach (var refusal in ClientConfigs.RefusalsOf(Client.Where(setting => !ReservedClientSettings.ContainsKey(setting.Key)).ToDictionary()))
        {
            yield return new ValidationResult(refusal, [nameof(Client)]);
        }

        // Only the direct segments travel on the change stream; interested-categories is resolved per seller.
        var routable = SegmentNames.All.Where(s => s != Segment.InterestedCategories).ToList();
        foreach (var (name, topic) in Topics.PerSegment)
        {
            if (!SegmentNames.TryParse(name, out var segment) || !routable.Contains(segment))
            {
                yield return new ValidationResult(
                    $"Topics:PerSegment:{name} is not a segment of the change stream (those are: {string.Join(", ", routable.Select(s => s.ToWireName()))}).",
                    [nameof(Topics)]);
            }

            if (string.IsNullOrWhiteSpace(topic) || all.Contains(topic, StringComparer.Ordinal))
            {
                yield return new ValidationResult(
                    $"Topics:PerSegment:{name} must name a topic of its own, not '{topic}' (an input, output, changelog, dead-letter, seller-categories or current-state topic would get its records twice or mixed).",
                    [nameof(Topics)]);
            }
        }
    }
}

/// <summary>Topic names (README, "Settings", has what each carries).</summary>
public sealed class TopicOptions
{
    public string OrdersPaid { get; set; } = "orders.paid";

    public string ProductsViewed { get; set; } = "products.viewed";

    public string CartEvents { get; set; } = "carts.events";

    public string FavoriteEvents { get; set; } = "favorites.events";

    public string SegmentChanges { get; set; } = "segments.changed";

    public string CategoryInterestChanges { get; set; } = "segments.category-interest.changed";

    public string Changelog { get; set; } = "segments.state-changelog";

    public string DeadLetter { get; set; } = "segments.dead-letter";

    /// <summary>
    /// Facts of cats(s), keyed by (seller, category), for consumers that resolve interested-categories from the
    /// category interest changes (compacted: each fact is kept once).
    /// </summary>
    public string SellerCategories { get; set; } = "segments.seller-categories";

    /// <summary>
    /// Optional (empty: not published): every pair's current direct segment, keyed by <c>["sellerId","buyerId"]</c>, for a
    /// compacted topic. Each segment change is published there too, and a change to none as a tombstone, so after
    /// compaction the topic holds one record per pair that has a segment: what a consumer starting late reads instead of
    /// the whole history of <see cref="SegmentChanges"/>.
    /// </summary>
    public string CurrentSegments { get; set; } = "";

    /// <summary>
    /// Optional (empty: not published): every buyer's current category interests, keyed by
    /// <c>["categoryId","buyerId"]</c>, for a compacted topic: each <c>entered</c> change, and a tombstone when it is left.
    /// </summary>
    public string CurrentCategoryInterests { get; set; } = "";

    /// <summary>
    /// Optional extra routing: segment wire name → topic. A change is also published to the topic of the segment
    /// it leaves and of the one it enters, for services that care about one segment only.
    /// </summary>
    public Dictionary<string, string> PerSegment { get; set; } = [];

    /// <summary>The input topic an event of <paramref name="eventType"/> travels on (unknown types: the orders topic).</summary>
    public string InputTopicOf(string? eventType) => eventType switch
    {
        "product-viewed" => ProductsViewed,
        "cart-item-added" or "cart-item-removed" => CartEvents,
        "favorite-added" or "favorite-removed" => FavoriteEvents,
        _ => OrdersPaid,
    };

    /// <summary>The co-partitioned input topics, in the fixed order that breaks timestamp ties.</summary>
    public IReadOnlyList<string> Inputs => [OrdersPaid, ProductsViewed, CartEvents, FavoriteEvents];

    /// <summary>The names the documentation, the compose file and the <c>broker</c> verb give the current-state tables.</summary>
    public static IReadOnlyList<string> SuggestedTables { get; } = ["segments.current", "segments.category-interest.current"];

    /// <summary>The optional topics that are set: the current-state tables.</summary>
    public IReadOnlyList<string> Tables => [.. new[] { CurrentSegments, CurrentCategoryInterests }.Where(t => !string.IsNullOrEmpty(t))];

    /// <summary>
    /// Which current-state tables are named, as the commit markers record it (<see cref="CommitMarker.Tables"/>): a task
    /// restored under other tables fills them with its state. Odd, so never 0 (unknown).
    /// </summary>
    public ulong TablesFingerprint() =>
        System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes($"{CurrentSegments}\n{CurrentCategoryInterests}")) | 1;

    public IReadOnlyList<string> All =>
        [.. Inputs, SegmentChanges, CategoryInterestChanges, Changelog, DeadLetter, SellerCategories, .. Tables, .. PerSegment.Values.Distinct(StringComparer.Ordinal)];
}
