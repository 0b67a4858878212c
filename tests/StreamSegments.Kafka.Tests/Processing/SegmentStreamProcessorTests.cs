using StreamSegments.Core.Time;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class SegmentStreamProcessorTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);

    [Theory]
    [InlineData(true)] // as on the embedded broker, which does not isolate transactions
    [InlineData(false)] // the default, for Kafka
    public void The_worker_publishes_exactly_the_fixtures_changes_when_its_clock_follows_the_wall_clock_to_the_as_of_instant(bool deliverBeforeMarkers)
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));

        var clock = new StoppedClock(asOf);
        var options = scenario.Options(clock);
        options.DeliverBeforeMarkers = deliverBeforeMarkers;
        var counters = scenario.RunWorkerUntilQuiet(lines.Length, clock, options);

        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
        Assert.Equal(
            KafkaScenario.Rows(Path.Combine(fixture, "changes.jsonl"), fields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value), fields));
        string[] categoryFields = ["categoryId", "buyerId", "change", "effectiveAt"];
        Assert.Equal(
            KafkaScenario.Rows(Path.Combine(fixture, "category-changes.jsonl"), categoryFields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.CategoryInterestChanges).Select(r => r.Message.Value), categoryFields));
        Assert.Equal(lines.Length, counters.RecordsConsumed);
    }

    [Fact]
    public void Routed_segments_get_every_change_that_leaves_or_enters_them_on_their_own_topics()
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        var routes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["regular-top"] = "sellers.top-buyers",
            ["new"] = "sellers.new-buyers",
            ["sleeping"] = "sellers.sleeping-buyers",
        };
        foreach (var (segment, topic) in routes)
        {
            scenario.Topics.PerSegment[segment] = topic;
            scenario.Broker.CreateTopic(topic, scenario.Partitions);
        }

        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));
        scenario.RunWorkerUntilQuiet(lines.Length, new StoppedClock(asOf));

        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
        var expected = File.ReadAllLines(Path.Combine(fixture, "changes.jsonl"));
        foreach (var (segment, topic) in routes)
        {
            var touching = expected.Where(line =>
            {
                using var change = System.Text.Json.JsonDocument.Parse(line);
                return change.RootElement.GetProperty("from").GetString() == segment || change.RootElement.GetProperty("to").GetString() == segment;
            }).ToList();
            Assert.NotEmpty(touching);
            Assert.Equal(
                KafkaScenario.Rows(touching.Select(System.Text.Encoding.UTF8.GetBytes), fields),
                KafkaScenario.Rows(scenario.ReadCommitted(topic).Select(r => r.Message.Value), fields));
        }

        Assert.Equal(expected.Length, scenario.ReadCommitted(scenario.Topics.SegmentChanges).Count);
    }

    public void Dispose() => scenario.Dispose();
}
