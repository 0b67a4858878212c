using System.Text;
using Confluent.Kafka;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class DeadLetterTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly KafkaScenario scenario = new(partitions: 2);

    [Fact]
    public void Each_kind_of_bad_record_is_dead_lettered_with_its_reason_source_and_original_bytes_and_processing_goes_on()
    {
        var good1 = Order("e-1", "b-1", "2026-11-01T10:00:00.000Z");
        var good2 = Order("e-2", "b-2", "2026-11-01T10:00:01.000Z");
        var bad = new (string Line, string Reason)[]
        {
            ("{\"type\":\"order-paid\",\"eventId\":", "malformed-json"),
            ("[1,2,3]", "not-an-object"),
            (Order("e-3", "b-3", "2026-11-01T10:00:00.000Z").Replace("\"amount\":100", "\"amount\":\"100\"", StringComparison.Ordinal), "wrong-type"),
            (Order("e-4", "b-4", "2026-11-01T13:30:00.000Z"), "in-future"),
            // Larger than the producer's own limit (2 MiB) and the default dead-letter size: cut to fit.
            (Order("e-5", "b-5", "2026-11-01T10:00:00.000Z").Replace("}", $",\"note\":\"{new string('x', 3_000_000)}\"}}", StringComparison.Ordinal), "too-large"),
            // Its reason quotes the type: 600 KB quoted in a header would take the dead letter past the broker's limit.
            (Order("e-7", "b-7", "2026-11-01T10:00:00.000Z").Replace("order-paid", new string('t', 600_000), StringComparison.Ordinal), "unknown-type"),
        };
        scenario.Produce([good1, .. bad.Select(b => b.Line)], Now.AddMinutes(-10));
        // With headers too large to carry along (over a quarter of the dead letter's size).
        ProduceWithKey(Order("e-6", "b-6", "2026-11-01T10:00:02.000Z"), key: "someone-else",
            new Headers { { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray() }, { "big", new byte[300_000] } });
        scenario.Produce([good2], Now.AddMinutes(-5));

        var counters = scenario.RunWorkerUntilQuiet(expectedInputRecords: bad.Length + 3, new StoppedClock(Now));

        var letters = scenario.ReadCommitted(scenario.Topics.DeadLetter);
        var limit = scenario.Options().DeadLetterMaxBytes;
        Assert.All(letters, letter => Assert.InRange(SizeOf(letter), 1, limit));
        Assert.Equal(
            bad.Select(b => b.Reason).Append("key-mismatch").Order(StringComparer.Ordinal),
            letters.Select(l => Header(l, "segments-reason")).Order(StringComparer.Ordinal));
        foreach (var (line, reason) in bad)
        {
            var letter = Assert.Single(letters, l => Header(l, "segments-reason") == reason);
            var key = KafkaScenario.KeyOf(line)!;
            if (reason == "too-large")
            {
                Assert.StartsWith(Encoding.UTF8.GetString(letter.Message.Value!), line, StringComparison.Ordinal);
                Assert.True(SizeOf(letter) > limit - 1024, $"cut further than needed: {SizeOf(letter)} bytes");
                Assert.Equal("true", Header(letter, "segments-truncated"));
                Assert.Equal((key.Length + Encoding.UTF8.GetByteCount(line)).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(letter, "segments-original-size"));
            }
            else
            {
                Assert.Equal(line, Encoding.UTF8.GetString(letter.Message.Value!));
                Assert.Equal("", Header(letter, "segments-truncated"));
            }

            Assert.Equal(scenario.TopicOf(line), Header(letter, "segments-source-topic"));
            Assert.InRange(Header(letter, "segments-reason-message").Length, 1, 200);
            Assert.True(long.Parse(Header(letter, "segments-source-offset"), System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.Equal(key, letter.Message.Key);
        }

        var mismatch = Assert.Single(letters, l => Header(l, "segments-reason") == "key-mismatch");
        Assert.Equal("someone-else", Encoding.UTF8.GetString(mismatch.Message.Key!));
        Assert.Equal("2", Header(mismatch, "segments-original-headers-dropped"));
        Assert.Equal("", Header(mismatch, "big"));
        Assert.Equal("", Header(letters.First(l => l != mismatch), "segments-original-headers-dropped"));

        // The good records around the bad ones were processed: each buyer's first order makes the pair "new".
        var changes = KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value), "buyerId", "to");
        Assert.Equal(["b-1|new", "b-2|new"], changes);
        Assert.Equal(bad.Length + 1, counters.DeadLettered);
    }

    [Theory]
    [InlineData(InputPartitioner.Murmur2, Partitioner.Murmur2Random)]
    [InlineData(InputPartitioner.Crc32, Partitioner.ConsistentRandom)]
    public void With_the_input_partitioner_set_a_record_on_another_partition_than_its_key_s_is_dead_lettered(InputPartitioner checkedAs, Partitioner producedWith)
    {
        // librdkafka places these with the partitioner named: the worker's own hash must agree with it for all eight.
        var placed = Enumerable.Range(1, 8).Select(i => Order($"e-{i}", $"b-{i}", $"2026-11-01T10:00:0{i}.000Z")).ToList();
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers, Partitioner = producedWith }).Build())
        {
            foreach (var line in placed)
            {
                producer.Produce(scenario.Topics.OrdersPaid, new Message<string, string> { Key = Encoding.UTF8.GetString(KafkaScenario.KeyOf(line)!), Value = line, Timestamp = new Timestamp(Now.AddMinutes(-10)) });
            }

            // b-9's order on the partition its key does not go to: there it would sit in another task than its buyer.
            var stray = Order("e-9", "b-9", "2026-11-01T10:00:09.000Z");
            var home = KeyPartitioning.PartitionOf(checkedAs, "b-9"u8, scenario.Partitions);
            producer.Produce(new TopicPartition(scenario.Topics.OrdersPaid, new Partition(1 - home)), new Message<string, string> { Key = "b-9", Value = stray, Timestamp = new Timestamp(Now.AddMinutes(-9)) });
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var wallClock = new StoppedClock(Now);
        var options = scenario.Options(wallClock);
        options.InputPartitioner = checkedAs;
        scenario.RunWorkerUntilQuiet(expectedInputRecords: 9, wallClock, options);

        var letter = Assert.Single(scenario.ReadCommitted(scenario.Topics.DeadLetter));
        Assert.Equal(("wrong-partition", "b-9"), (Header(letter, "segments-reason"), Encoding.UTF8.GetString(letter.Message.Key!)));
        var changes = KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value), "buyerId", "to");
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"b-{i}|new").Order(StringComparer.Ordinal), changes.Order(StringComparer.Ordinal));
    }

    public void Dispose() => scenario.Dispose();

    private static string Order(string eventId, string buyerId, string at) =>
        $$"""{"type":"order-paid","eventId":"{{eventId}}","occurredAt":"{{at}}","buyerId":"{{buyerId}}","sellerId":"s-1","orderId":"o-{{eventId}}","amount":100,"currency":"RUB","items":[]}""";

    private static string Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var value) ? Encoding.UTF8.GetString(value) : "";

    private static int SizeOf(ConsumeResult<byte[]?, byte[]?> record) =>
        (record.Message.Key?.Length ?? 0) + (record.Message.Value?.Length ?? 0)
        + record.Message.Headers.Sum(h => Encoding.UTF8.GetByteCount(h.Key) + (h.GetValueBytes()?.Length ?? 0));

    private void ProduceWithKey(string line, string key, Headers headers)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build();
        producer.Produce(scenario.Topics.OrdersPaid, new Message<string, string>
        {
            Key = key,
            Value = line,
            Headers = headers,
            Timestamp = new Timestamp(Now.AddMinutes(-7)),
        });
        producer.Flush(TimeSpan.FromSeconds(30));
    }
}
