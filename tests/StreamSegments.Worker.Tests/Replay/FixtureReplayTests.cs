using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Replay;

/// <summary>The replay verb reproduces shared/fixtures exactly: the contract's own worked example.</summary>
public sealed class FixtureReplayTests : IDisposable
{
    private static readonly string[] ChangeFields = ["sellerId", "buyerId", "from", "to", "effectiveAt"];
    private static readonly string[] CategoryFields = ["categoryId", "buyerId", "change", "effectiveAt"];
    private static readonly string[] SnapshotFields = ["sellerId", "buyerId", "segment", "rfm"];

    private readonly string fixture = RepoPaths.Fixture("scenario-small");
    private readonly ReplayScenario scenario;

    public FixtureReplayTests()
    {
        scenario = new ReplayScenario(Path.Combine(fixture, "events.jsonl"), File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim());
    }

    public void Dispose() => scenario.Dispose();

    [Fact]
    public async Task Replay_reproduces_the_fixture_changes_category_changes_and_snapshot()
    {
        var counters = await scenario.RunAsync();

        Assert.Equal(ReplayScenario.ReadRows(Path.Combine(fixture, "changes.jsonl"), ChangeFields), scenario.Rows("changes.jsonl", ChangeFields));
        Assert.Equal(ReplayScenario.ReadRows(Path.Combine(fixture, "category-changes.jsonl"), CategoryFields), scenario.Rows("category-changes.jsonl", CategoryFields));
        Assert.Equal(ReplayScenario.ReadRows(Path.Combine(fixture, "snapshot.jsonl"), SnapshotFields), scenario.Rows("snapshot.jsonl", SnapshotFields));
        Assert.Equal(File.ReadLines(Path.Combine(fixture, "events.jsonl")).Count(), counters.Lines);
    }

    [Fact]
    public async Task Replay_rejects_each_bad_fixture_line_with_its_line_number_and_reason()
    {
        var counters = await scenario.RunAsync();

        var badLines = File.ReadLines(Path.Combine(fixture, "events.jsonl"))
            .Select((line, index) => (line, number: index + 1))
            .Where(l => l.line.Contains("\"bad-", StringComparison.Ordinal))
            .Select(l => l.number.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(badLines, scenario.Rows("rejects.jsonl", "line"));
        Assert.Equal(badLines.Count, counters.Rejected);
        Assert.All(scenario.Rows("rejects.jsonl", "reason", "message"), r => Assert.DoesNotContain("<missing>", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_earlier_as_of_applies_no_later_event_and_stamps_no_later_change()
    {
        using var early = new ReplayScenario(scenario.Input, "2026-03-01T00:00:00.000Z");

        var counters = await early.RunAsync();

        Assert.True(counters.AfterAsOf > 0);
        Assert.All(early.Rows("changes.jsonl", "effectiveAt"), t => Assert.True(string.CompareOrdinal(t, "2026-03-01T00:00:00.000Z") <= 0, t));
        var expected = ReplayScenario.ReadRows(Path.Combine(fixture, "changes.jsonl"), ChangeFields)
            .Where(r => string.CompareOrdinal(r.Split('|')[4], "2026-03-01T00:00:00.000Z") <= 0)
            .ToList();
        Assert.Equal(expected, early.Rows("changes.jsonl", ChangeFields));
    }
}
