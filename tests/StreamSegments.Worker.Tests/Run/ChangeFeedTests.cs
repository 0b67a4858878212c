using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Run;

namespace StreamSegments.Worker.Tests.Run;

/// <summary>
/// The demo's change feed on the embedded broker, which shows read_committed readers the records of commits a killed
/// worker never finished: only changes a commit marker seals are printed and counted.
/// </summary>
public sealed class ChangeFeedTests : IDisposable
{
    private const string Sealed = "0:00000000000000aa:1";
    private const string Unfinished = "0:00000000000000aa:2";
    private const string SealedLater = "1:00000000000000bb:2";

    private readonly KafkaScenario scenario = new(partitions: 2);
    private readonly MovableClock clock = new(DateTimeOffset.Parse("2026-11-30T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly StringWriter printed = new();

    [Fact]
    public async Task On_a_broker_that_does_not_isolate_transactions_only_changes_a_marker_seals_are_printed()
    {
        // The unfinished record first in its partition: once the sealed one after it is printed, it has been read.
        Produce(scenario.Topics.SegmentChanges, partition: 0, key: "b-1", Change("b-1", "new", "returning"), Unfinished);
        Produce(scenario.Topics.SegmentChanges, partition: 0, key: "b-1", Change("b-1", null, "new"), Sealed);
        Produce(scenario.Topics.SegmentChanges, partition: 1, key: "b-2", Change("b-2", null, "interested-products"), SealedLater);
        Produce(scenario.Topics.Changelog, partition: 0, key: "M00000000000000aa", "marker", Sealed);
        Produce(scenario.Topics.Changelog, partition: 1, key: "Bb-2", "state", SealedLater);
        Produce(scenario.Topics.Changelog, partition: 1, key: "M00000000000000bb", "marker", "1:00000000000000bb:3");

        var options = scenario.Options();
        Assert.True(options.DeliverBeforeMarkers);
        using var feed = new ChangeFeedService(Options.Create(options), clock, TextWriter.Synchronized(printed));
        await feed.StartAsync(CancellationToken.None);
        try
        {
            KafkaScenario.WaitFor(() => Lines().Count(l => l.Contains(" -> ", StringComparison.Ordinal)) >= 2, "the two sealed changes");

            // Past the transaction timeout the unfinished commit is given up, and the counts leave it out.
            clock.Now = clock.Now.AddMilliseconds(options.TransactionTimeoutMs + 10_000);
            KafkaScenario.WaitFor(() => Lines().Any(l => l.StartsWith("== pairs per segment", StringComparison.Ordinal)), "the counts");
        }
        finally
        {
            await feed.StopAsync(CancellationToken.None);
        }

        var changes = Lines().Where(l => l.Contains(" -> ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, changes.Count);
        Assert.Contains(changes, l => l.Contains("b-1", StringComparison.Ordinal) && l.Contains("new", StringComparison.Ordinal));
        Assert.Contains(changes, l => l.Contains("b-2", StringComparison.Ordinal) && l.Contains("interested-products", StringComparison.Ordinal));
        Assert.DoesNotContain(Lines(), l => l.Contains("returning", StringComparison.Ordinal));
        Assert.Contains("== 1 changes of commits no marker sealed", printed.ToString(), StringComparison.Ordinal);
        Assert.Equal("== pairs per segment: interested-products=1  new=1", Lines().Last(l => l.StartsWith("== pairs", StringComparison.Ordinal)));
    }

    public void Dispose()
    {
        scenario.Dispose();
        printed.Dispose();
    }

    private List<string> Lines() => printed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static string Change(string buyer, string? from, string to) =>
        $$"""{"sellerId":"s-1","buyerId":"{{buyer}}","from":{{(from is null ? "null" : $"\"{from}\"")}},"to":"{{to}}","effectiveAt":"2026-11-29T10:00:00.000Z","cause":"event"}""";

    private void Produce(string topic, int partition, string key, string value, string commitId)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = scenario.Broker.BootstrapServers }).Build();
        producer.Produce(new TopicPartition(topic, partition), new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(key),
            Value = Encoding.UTF8.GetBytes(value),
            Headers = [new Header(CommitMarker.Header, Encoding.UTF8.GetBytes(commitId))],
        });
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
    }
}
