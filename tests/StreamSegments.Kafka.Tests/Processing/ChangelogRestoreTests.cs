using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamSegments.Core;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class ChangelogRestoreTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 1);

    [Fact]
    public void A_restore_refuses_a_changelog_whose_first_records_are_gone_but_reads_one_that_starts_where_it_begins()
    {
        // More than the embedded broker keeps of a partition: it drops the oldest records, as retention would on a real broker.
        var changelog = new TopicPartition(scenario.Topics.Changelog, 0);
        var value = new byte[16 * 1024];
        var records = (int)(EmbeddedBroker.RetainedBytesPerPartition * 2 / value.Length);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (var i = 0; i < records; i++)
            {
                producer.Produce(changelog, new Message<byte[], byte[]> { Key = [(byte)'B', (byte)i], Value = value });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        using var reader = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = scenario.Broker.BootstrapServers,
            GroupId = "restore-test",
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        var bounds = Bounds(reader, changelog);
        Assert.InRange(bounds.Low.Value, 1, records - 1);
        Assert.Equal(records, bounds.High.Value);

        using var store = new FasterBuyerStateStore(Path.Combine(scenario.StateDirectory, "task-0"), scenario.StateOptions(), new SymbolTable(), new SymbolTable());
        var refused = Assert.Throws<SetupException>(() =>
            ChangelogRestore.Run(reader, changelog, bounds, from: 0, marker: null, store, progress: null, CancellationToken.None));
        Assert.Contains("cannot be rebuilt", refused.Message, StringComparison.Ordinal);

        // From where the changelog does start, it is read to its end (no marker closes these records: none applied).
        var restored = ChangelogRestore.Run(reader, changelog, bounds, from: bounds.Low.Value, marker: null, store, progress: null, CancellationToken.None);
        Assert.Equal(0, restored.RecordsApplied);
        Assert.Equal(records - bounds.Low.Value, restored.RecordsDropped);
    }

    [Fact]
    public void A_compacted_changelog_restores_every_commit_its_incarnations_newest_markers_seal_and_nothing_unfinished()
    {
        // What compaction leaves of three incarnations of task 0: buyers written by commits 1 and 2 of incarnation
        // 0xA, whose only surviving marker is commit 2's (each incarnation's markers share a key); an unfinished
        // commit 3 of 0xA (killed before its marker); incarnation 0xB's commit 1, sealed. Then an unfinished commit
        // of 0xB at the end.
        var changelog = new TopicPartition(scenario.Topics.Changelog, 0);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build())
        {
            void Buyer(string id, long epoch, long sequence) => Produce(producer, changelog, BuyerKey(id), EncodedBuyer(id), epoch, sequence);
            void Marker(long epoch, long sequence, long clock) =>
                Produce(producer, changelog, CommitMarker.KeyOf(epoch), new CommitMarker(epoch, sequence, clock, [sequence * 10]).Serialize(), epoch, sequence);

            Buyer("b-1", 0xA, 1);
            Buyer("b-2", 0xA, 2);
            Marker(0xA, 2, clock: 2_000);
            Buyer("b-3", 0xA, 3);
            Buyer("b-4", 0xB, 1);
            Marker(0xB, 1, clock: 3_000);
            Buyer("b-5", 0xB, 2);
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        using var reader = NewReader();
        using var store = new FasterBuyerStateStore(Path.Combine(scenario.StateDirectory, "task-0"), scenario.StateOptions(), new SymbolTable(), new SymbolTable());
        var progress = 0;
        var restored = ChangelogRestore.Run(reader, changelog, Bounds(reader, changelog), from: 0, marker: null, store, () => progress++, CancellationToken.None);

        var state = new BuyerState();
        Assert.Equal(["b-1", "b-2", "b-4"], new[] { "b-1", "b-2", "b-3", "b-4", "b-5" }.Where(id => store.TryLoad(Encoding.UTF8.GetBytes(id), state)));
        Assert.Equal(3, restored.RecordsApplied);
        Assert.Equal(2, restored.RecordsDropped);
        Assert.Equal((0xB, 1, 3_000), (restored.Marker!.Epoch, restored.Marker.Sequence, restored.Marker.Clock));
        Assert.Equal(6, restored.NextChangelogOffset);
        Assert.True(progress >= 7, $"progress reported {progress} times");
    }

    [Fact]
    public void Seller_category_facts_an_earlier_build_never_published_are_published_once_after_the_upgrade()
    {
        // Task 0's changelog as an earlier build left it: catalog facts stored with no payload (no sink then), sealed;
        // more than one pass of the loop hands over, so that they go out over several transactions.
        const int Facts = 4096 + 10;
        var changelog = new TopicPartition(scenario.Topics.Changelog, 0);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build())
        {
            for (var category = 0; category < Facts; category++)
            {
                Produce(producer, changelog, CatalogKey("s-1", $"c-{category}"), [], 0xA, 1);
            }

            Produce(producer, changelog, CommitMarker.KeyOf(0xA), new CommitMarker(0xA, 1, EventTime.Parse("2026-01-01T00:00:00Z"), [-1, -1, -1, -1]).Serialize(), 0xA, 1);
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var clock = new StoppedClock(DateTimeOffset.Parse("2026-01-01T00:00:10Z", CultureInfo.InvariantCulture));
        scenario.RunRestoredWorkerUntilQuiet(clock, scenario.Options(clock));
        var published = scenario.ReadCommitted(scenario.Topics.SellerCategories).Select(r => Encoding.UTF8.GetString(r.Message.Key!)).ToList();
        Assert.Equal(Enumerable.Range(0, Facts).Select(category => $"""["s-1","c-{category}"]""").Order(StringComparer.Ordinal), published.Order(StringComparer.Ordinal));

        // Stored as published with it, in the changelog too: a restart that must rebuild the task from the changelog
        // (its local state gone) publishes nothing again. (Another group, so as not to wait for the embedded broker
        // to let the first one's member go.)
        FasterBuyerStateStore.DeleteDirectory(Path.Combine(scenario.StateDirectory, "task-0"));
        var restart = scenario.Options(clock);
        restart.GroupId += "-restarted";
        scenario.RunRestoredWorkerUntilQuiet(clock, restart);
        Assert.Equal(Facts, scenario.ReadCommitted(scenario.Topics.SellerCategories).Count);
    }

    [Theory]
    [InlineData("3:00000000000000ab:42", 0xab, 42)]
    [InlineData("0:ffffffffffffffff:1", -1, 1)]
    public void Commit_ids_read_back_as_they_were_written(string commitId, long epoch, long sequence)
    {
        Assert.Equal(commitId, CommitMarker.CommitId(int.Parse(commitId.Split(':')[0], CultureInfo.InvariantCulture), epoch, sequence));
        Assert.True(CommitMarker.TryParseCommitId(Encoding.ASCII.GetBytes(commitId), out var parsedEpoch, out var parsedSequence));
        Assert.Equal((epoch, sequence), (parsedEpoch, parsedSequence));
    }

    [Theory]
    [InlineData("")]
    [InlineData("3:ab")]
    [InlineData("3:zz:1")]
    [InlineData("3:ab:1x")]
    public void Malformed_commit_ids_do_not_parse(string commitId) =>
        Assert.False(CommitMarker.TryParseCommitId(Encoding.ASCII.GetBytes(commitId), out _, out _));

    [Fact]
    public void A_markers_policy_and_tables_travel_in_its_headers_and_its_bytes_stay_readable_by_earlier_workers()
    {
        var marker = new CommitMarker(
            Epoch: 7, Sequence: 3, Clock: 1_000, NextOffsets: [5, -1], Policy: new Core.Policy.SegmentPolicy().Fingerprint(),
            Tables: new TopicOptions { CurrentSegments = "segments.current" }.TablesFingerprint());
        var bytes = marker.Serialize();
        Assert.Equal(1, bytes[0]); // format 1, all an earlier worker reads

        var read = CommitMarker.Read(bytes, new Headers { { CommitMarker.PolicyHeader, marker.PolicyBytes() }, { CommitMarker.TablesHeader, marker.TablesBytes() } });
        Assert.Equal((marker.Epoch, marker.Sequence, marker.Clock, marker.Policy, marker.Tables), (read.Epoch, read.Sequence, read.Clock, read.Policy, read.Tables));
        Assert.Equal(marker.NextOffsets, read.NextOffsets);
        Assert.Equal((0UL, 0UL), (CommitMarker.Read(bytes, headers: null).Policy, CommitMarker.Read(bytes, headers: null).Tables)); // an earlier worker's marker: unknown
        Assert.NotEqual(marker.Tables, new TopicOptions().TablesFingerprint()); // no table named is another set of tables
    }

    [Fact]
    public async Task A_local_checkpoint_older_than_MaxCheckpointAgeMs_is_set_aside_and_the_task_restores_from_the_changelog()
    {
        var taken = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        var lines = Enumerable.Range(0, 20).Select(i =>
            $$"""{"type":"order-paid","eventId":"e-{{i}}","occurredAt":"2026-11-01T11:00:00.000Z","buyerId":"b-{{i}}","sellerId":"s-1","orderId":"o-{{i}}","amount":100}""").ToList();
        scenario.Produce(lines, taken.AddHours(-1));
        var options = scenario.Options(new StoppedClock(taken), successiveRuns: true); // the clock passes 11:00, so its orders are evaluated
        var maxAge = TimeSpan.FromMilliseconds(options.MaxCheckpointAgeMs);

        // Each run checkpoints when it stops, stamped with its wall clock.
        scenario.RunWorkerUntilQuiet(lines.Count, new StoppedClock(taken), options);
        var young = scenario.RunRestoredWorkerUntilQuiet(new StoppedClock(taken + maxAge - TimeSpan.FromMinutes(1)), options);
        var old = scenario.RunRestoredWorkerUntilQuiet(new StoppedClock(taken + maxAge - TimeSpan.FromMinutes(1) + maxAge + TimeSpan.FromMinutes(1)), options);

        // The same checkpoint as a worker before format 2 wrote it (the changelog offset, then the marker): its age is
        // unknown, so it is not trusted either.
        using (var store = new FasterBuyerStateStore(Path.Combine(scenario.StateDirectory, "task-0"), scenario.StateOptions(), new SymbolTable(), new SymbolTable()))
        {
            var cookie = TaskCheckpointCookie.Read((await store.RecoverAsync(CancellationToken.None))!);
            await store.CheckpointAsync(cookie.WriteFormat1(), CancellationToken.None);
        }

        var format1 = scenario.RunRestoredWorkerUntilQuiet(new StoppedClock(taken + maxAge - TimeSpan.FromMinutes(1) + maxAge + TimeSpan.FromMinutes(1)), options);

        Assert.Equal(0, young.RecordsRestored);
        Assert.True(old.RecordsRestored >= lines.Count, $"{old.RecordsRestored} changelog records restored");
        Assert.True(format1.RecordsRestored >= lines.Count, $"{format1.RecordsRestored} changelog records restored");
        Assert.Equal(lines.Count, scenario.ReadCommitted(scenario.Topics.SegmentChanges).Count); // and no change twice
    }

    public void Dispose() => scenario.Dispose();

    private WatermarkOffsets Bounds(IConsumer<byte[]?, byte[]?> reader, TopicPartition changelog)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build();
        return ChangelogRestore.StableBounds(reader, admin, changelog, TimeSpan.FromSeconds(30), progress: null, CancellationToken.None);
    }

    private IConsumer<byte[]?, byte[]?> NewReader() => new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
    {
        BootstrapServers = scenario.Broker.BootstrapServers,
        GroupId = "restore-test",
        EnablePartitionEof = true,
        IsolationLevel = IsolationLevel.ReadCommitted,
    }).Build();

    private static void Produce(IProducer<byte[]?, byte[]?> producer, TopicPartition partition, byte[] key, byte[] value, long epoch, long sequence) =>
        producer.Produce(partition, new Message<byte[]?, byte[]?>
        {
            Key = key,
            Value = value,
            Headers = new Headers { { CommitMarker.Header, Encoding.ASCII.GetBytes(CommitMarker.CommitId(0, epoch, sequence)) } },
        });

    private static byte[] BuyerKey(string id) => [(byte)'B', .. Encoding.UTF8.GetBytes(id)];

    /// <summary>A catalog fact's store key: 'C', the seller id's length (int32, little-endian), the seller id, the category id.</summary>
    private static byte[] CatalogKey(string seller, string category)
    {
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, Encoding.UTF8.GetByteCount(seller));
        return [(byte)'C', .. length, .. Encoding.UTF8.GetBytes(seller), .. Encoding.UTF8.GetBytes(category)];
    }

    /// <summary>A buyer as the store writes it to the changelog: one recent event id is enough to be a record.</summary>
    private static byte[] EncodedBuyer(string id)
    {
        var state = new BuyerState();
        state.Reset(Encoding.UTF8.GetBytes(id));
        state.AddSeen(new SeenEvent(EventIdHash: 1, ForgetAt: 10_000));
        return new BuyerStateCodec(new SymbolTable(), new SymbolTable()).Encode(state).ToArray();
    }
}
