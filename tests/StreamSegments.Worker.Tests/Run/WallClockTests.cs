using StreamSegments.Core.Time;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Run;

/// <summary>
/// Time alone moves segments: once caught up, the worker's clock follows the wall clock, and every boundary the wall
/// clock passes publishes its change with no new event, exactly as a replay to that instant does.
/// </summary>
public sealed class WallClockTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);
    private readonly string fixture = RepoPaths.Fixture("scenario-small");

    [Fact]
    public async Task When_the_wall_clock_moves_on_a_year_the_worker_publishes_what_a_replay_to_that_instant_gives()
    {
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var asOf = EventTime.Parse(File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim());
        var later = asOf + (400 * EventTime.Day) + 12_345;
        scenario.Produce(lines, EventTime.ToDateTimeOffset(asOf).AddDays(-800));

        var clock = new ManualClock(EventTime.ToDateTimeOffset(asOf));
        long changesAtAsOf = -1;
        scenario.RunWorkerUntilQuiet(lines.Length, clock, whileQuiet: processor =>
        {
            changesAtAsOf = scenario.ReadCommitted(scenario.Topics.SegmentChanges).Count;
            clock.Now = EventTime.ToDateTimeOffset(later);
            KafkaScenario.WaitUntilQuiet(processor);
        });

        using var replay = new ReplayScenario(Path.Combine(fixture, "events.jsonl"), EventTime.Format(later));
        await replay.RunAsync();
        string[] fields = ["sellerId", "buyerId", "from", "to", "effectiveAt", "cause"];
        var published = scenario.ReadCommitted(scenario.Topics.SegmentChanges).Select(r => r.Message.Value).ToList();
        Assert.Equal(replay.Rows("changes.jsonl", fields), KafkaScenario.Rows(published, fields));
        Assert.Equal(File.ReadLines(Path.Combine(fixture, "changes.jsonl")).Count(), changesAtAsOf);
        Assert.True(published.Count > changesAtAsOf, "moving the wall clock published nothing");
        string[] categoryFields = ["categoryId", "buyerId", "change", "effectiveAt"];
        Assert.Equal(
            replay.Rows("category-changes.jsonl", categoryFields),
            KafkaScenario.Rows(scenario.ReadCommitted(scenario.Topics.CategoryInterestChanges).Select(r => r.Message.Value), categoryFields));
    }

    public void Dispose() => scenario.Dispose();

    /// <summary>A wall clock the test moves.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private long ticks = start.UtcTicks;

        public DateTimeOffset Now
        {
            get => new(Interlocked.Read(ref ticks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref ticks, value.UtcTicks);
        }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
