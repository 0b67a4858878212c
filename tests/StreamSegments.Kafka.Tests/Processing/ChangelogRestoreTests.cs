using Confluent.Kafka;
using StreamSegments.Core.State;
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
        var bounds = ChangelogRestore.Bounds(reader, changelog);
        Assert.InRange(bounds.Low.Value, 1, records - 1);
        Assert.Equal(records, bounds.High.Value);

        using var store = new FasterBuyerStateStore(Path.Combine(scenario.StateDirectory, "task-0"), scenario.StateOptions(), new SymbolTable(), new SymbolTable());
        var refused = Assert.Throws<InvalidOperationException>(() =>
            ChangelogRestore.Run(reader, changelog, bounds, from: 0, marker: null, store, CancellationToken.None));
        Assert.Contains("cannot be rebuilt", refused.Message, StringComparison.Ordinal);

        // From where the changelog does start, it is read to its end (no marker closes these records: none applied).
        var restored = ChangelogRestore.Run(reader, changelog, bounds, from: bounds.Low.Value, marker: null, store, CancellationToken.None);
        Assert.Equal(0, restored.RecordsApplied);
        Assert.Equal(records - bounds.Low.Value, restored.RecordsDropped);
    }

    public void Dispose() => scenario.Dispose();
}
