using StreamSegments.Core.Policy;
using StreamSegments.Core.Tests.Support;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Model;

/// <summary>
/// Random histories run through the engine and through <see cref="ReferenceModel"/>, a naive reading of the
/// rules: the changes, the category interest changes and the snapshot must be the same.
/// </summary>
public class ModelBasedTests
{
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 40)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Engine_agrees_with_the_reference_on_random_histories(int seed) =>
        Compare(seed, HistoryGenerator.Generate(seed), new SegmentPolicy());

    [Fact]
    public void Engine_agrees_with_the_reference_on_a_long_busy_history() =>
        Compare(1_000, HistoryGenerator.Generate(1_000, buyers: 150, days: 700), new SegmentPolicy());

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public void Engine_agrees_with_the_reference_under_a_non_default_policy(int seed) =>
        Compare(seed, HistoryGenerator.Generate(seed), new SegmentPolicy
        {
            WindowDays = 30,
            SleepingHorizonDays = 100,
            RecencyScore1BelowDays = 7,
            RecencyScore2BelowDays = 20,
            FrequencyScore1AtLeast = 4,
            FrequencyScore2AtLeast = 3,
            MonetaryScore1AtLeast = 4000,
            MonetaryScore2AtLeast = 1000,
            TopScoreAtMost = 5,
            LoyalScoreAtMost = 7,
        }.Validated());

    private static void Compare(int seed, List<GeneratedEvent> history, SegmentPolicy policy)
    {
        var asOf = history.Max(e => e.At) + (45 * EventTime.Day);
        var harness = new TaskHarness(policy);
        foreach (var e in history)
        {
            Assert.NotNull(harness.Send(e.ToJson()));
        }

        harness.AdvanceTo(EventTime.Format(asOf));
        var reference = new ReferenceModel(policy);
        reference.Run(history, asOf);

        AssertSameRows(seed, "changes", reference.Changes,
            harness.Sink.Segments.Select(c => $"{c.SellerId}|{c.BuyerId}|{c.From}|{c.To}|{c.EffectiveAt}"));
        AssertSameRows(seed, "category changes", reference.CategoryChanges,
            harness.Sink.Interests.Select(c => $"{c.CategoryId}|{c.BuyerId}|{c.Change}|{c.EffectiveAt}"));
        AssertSameRows(seed, "snapshot", reference.Snapshot(asOf),
            harness.Snapshot(EventTime.Format(asOf)).Select(r => $"{r.SellerId}|{r.BuyerId}|{r.Segment}|{r.Rfm}"));
        Assert.True(reference.Changes.Count > 10, $"seed {seed}: the history produced too few changes to mean anything");
    }

    private static void AssertSameRows(int seed, string what, IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var e = expected.Order(StringComparer.Ordinal).ToList();
        var a = actual.Order(StringComparer.Ordinal).ToList();
        var missing = e.Except(a).Take(5).ToList();
        var extra = a.Except(e).Take(5).ToList();
        Assert.True(
            e.SequenceEqual(a),
            $"seed {seed}, {what}: {e.Count} expected, {a.Count} actual; missing [{string.Join(", ", missing)}]; extra [{string.Join(", ", extra)}]");
    }
}
