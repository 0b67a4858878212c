using StreamSegments.Core.Time;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class SegmentStreamProcessorTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);

    [Fact]
    public void The_worker_publishes_exactly_the_fixtures_changes_when_its_clock_follows_the_wall_clock_to_the_as_of_instant()
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        scenario.Produce(lines, firstTimestamp: asOf.AddDays(-800));

        var counters = scenario.RunWorkerUntilQuiet(lines.Length, new StoppedClock(asOf));

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

    public void Dispose() => scenario.Dispose();
}
