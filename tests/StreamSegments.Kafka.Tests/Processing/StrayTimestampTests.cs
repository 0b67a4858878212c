using StreamSegments.Core.Time;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

/// <summary>
/// History whose record timestamps follow occurredAt, but for one record at the head of a partition stamped "now" (a
/// producer's clock, or a timestamp of 0 that librdkafka replaces with now), as a careless backfill leaves an invalid
/// line whose occurredAt it could not read: the rest of the partition must not wait behind it.
/// </summary>
public sealed class StrayTimestampTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 1);

    [Theory]
    [InlineData("invalid", 20_000)] // dead-lettered where it sits
    [InlineData("valid", 20_000)] // a re-send of the first order: applied where it sits, its original is the duplicate
    [InlineData("invalid", 16)] // with the orders' buffer paused and resumed on the way
    public void A_record_stamped_now_ahead_of_history_in_its_partition_leaves_the_historys_changes_as_they_are(string stray, int maxBuffered)
    {
        var fixture = RepoPaths.Fixture("scenario-small");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.ToDateTimeOffset(EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim()));
        var firstOrder = lines.First(l => l.StartsWith("{\"type\":\"order-paid\"", StringComparison.Ordinal));
        var head = stray == "invalid"
            ? firstOrder.Replace("\"eventId\":\"", "\"eventId\":\"x-", StringComparison.Ordinal).Replace("\"occurredAt\":\"20", "\"occurredAt\":\"x20", StringComparison.Ordinal)
            : firstOrder;
        scenario.Produce([head], asOf);
        scenario.Produce(lines, asOf.AddDays(-800));

        var clock = new StoppedClock(asOf);
        var options = scenario.Options(clock);
        options.FollowWallClockWithinMs = 3_600_000; // the default, the bound past which a record is a stray
        options.MaxBufferedPerPartition = maxBuffered;
        var logger = new RecordingLogger<SegmentStreamProcessor>();
        using var worker = scenario.StartWorker(options, clock, logger: logger);
        KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Length + 1, () => worker.Failure is not null);
        worker.Stop();
        Assert.Null(worker.Failure);

        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
        Assert.Equal(
            KafkaScenario.Rows(Path.Combine(fixture, "changes.jsonl"), fields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value), fields));
        Assert.Equal(lines.Length + 1, worker.Processor.Counters.RecordsConsumed);

        // The scenario's MaxTaskIdleMs (30 s) keeps a loaded machine's slow fetches from reordering the topics; a wait
        // behind the stray that ran out would be an episode.
        Assert.Equal(0, worker.Processor.Counters.OutOfOrderEpisodes);

        // The producer's timestamps need fixing: counted for the metrics, and said once, with the count.
        Assert.Equal(1, worker.Processor.Counters.StrayRecords);
        Assert.Single(logger.Lines, line => line.StartsWith("Warning: Task 0 has taken 1 records so far where they sat in their partition", StringComparison.Ordinal));
    }

    public void Dispose() => scenario.Dispose();
}
