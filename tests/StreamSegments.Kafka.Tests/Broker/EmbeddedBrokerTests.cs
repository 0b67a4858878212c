using Confluent.Kafka;
using StreamSegments.Kafka.Broker;

namespace StreamSegments.Kafka.Tests.Broker;

/// <summary>The embedded broker serves real Kafka clients over TCP: produce, consumer groups, transactions.</summary>
public sealed class EmbeddedBrokerTests : IDisposable
{
    private readonly EmbeddedBroker broker = new();

    public void Dispose() => broker.Dispose();

    [Fact]
    public void Records_produced_to_a_partitioned_topic_are_consumed_by_a_group_with_their_keys()
    {
        broker.CreateTopic("orders.paid", partitions: 4);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            for (var i = 0; i < 200; i++)
            {
                producer.Produce("orders.paid", new Message<string, string> { Key = $"b-{i % 20}", Value = $"v-{i}" });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var received = ConsumeAll("orders.paid", expected: 200, IsolationLevel.ReadUncommitted);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"v-{i}").Order(StringComparer.Ordinal), received.Select(r => r.Message.Value).Order(StringComparer.Ordinal));
        Assert.Equal(4, received.Select(r => r.Partition.Value).Distinct().Count());

        // Co-partitioning relies on this: one key, one partition.
        Assert.All(received.GroupBy(r => r.Message.Key), g => Assert.Single(g.Select(r => r.Partition.Value).Distinct()));
    }

    [Fact]
    public void A_read_committed_consumer_sees_committed_transactions_and_never_aborted_ones()
    {
        broker.CreateTopic("segments.changed", partitions: 2);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            TransactionalId = "test-tx",
        }).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            producer.Produce("segments.changed", new Message<string, string> { Key = "b1", Value = "aborted" });
            producer.AbortTransaction(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            producer.Produce("segments.changed", new Message<string, string> { Key = "b1", Value = "committed" });
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        var received = ConsumeAll("segments.changed", expected: 1, IsolationLevel.ReadCommitted);

        Assert.Equal(["committed"], received.Select(r => r.Message.Value));
    }

    [Fact]
    public void Exposed_on_a_fixed_address_the_broker_is_reachable_through_that_address_alone()
    {
        broker.CreateTopic("products.viewed", partitions: 2);
        var address = broker.ExposeOn(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        Assert.NotEqual(broker.BootstrapServers, address);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = address }).Build())
        {
            producer.Produce("products.viewed", new Message<string, string> { Key = "b1", Value = "through the forwarder" });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));

            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = address }).Build();
            var advertised = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Single();
            Assert.Equal(address, $"{advertised.Host}:{advertised.Port}");
        }

        var received = ConsumeAll("products.viewed", expected: 1, IsolationLevel.ReadUncommitted, address);

        Assert.Equal(["through the forwarder"], received.Select(r => r.Message.Value));
    }

    private List<ConsumeResult<string, string>> ConsumeAll(string topic, int expected, IsolationLevel isolation, string? bootstrap = null)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap ?? broker.BootstrapServers,
            GroupId = $"g-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = isolation,
            EnablePartitionEof = true,
        }).Build();
        consumer.Subscribe(topic);
        var received = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false })
            {
                received.Add(result);
                quietSince = DateTime.UtcNow;
            }

            // Once everything expected arrived, wait a little more so that extra (wrong) records would show up.
            if (received.Count >= expected && DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(2))
            {
                break;
            }
        }

        consumer.Close();
        return received;
    }
}
