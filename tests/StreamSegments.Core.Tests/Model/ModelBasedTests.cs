using System.Collections.Concurrent;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Tests.Support;

namespace StreamSegments.Core.Tests.Model;

/// <summary>
/// Random histories (<see cref="HistoryGenerator"/>) run through the engine (parser + task, via
/// <see cref="TaskHarness"/>) and through <see cref="ReferenceModel"/>: the rejected records, the segment
/// changes, the category interest changes and the snapshot must be the same.
/// </summary>
public class ModelBasedTests
{
    public const int SeedCount = 30;

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, SeedCount)];

    /// <summary>Non-default policies: short window and horizon, other thresholds; and a window longer than the horizon.</summary>
    public static TheoryData<int, int> Policies => new() { { 0, 101 }, { 0, 102 }, { 0, 103 }, { 1, 104 }, { 1, 105 } };

    // The seeded default-policy histories and their reference results, shared by the comparison and the coverage
    // check so that each is generated and worked out once per run (the reference is the slow side).
    private static readonly ConcurrentDictionary<int, Lazy<(GeneratedHistory History, ReferenceModel Reference)>> Seeded = new();

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Engine_agrees_with_the_reference(int seed)
    {
        var (history, reference) = SeededRun(seed);
        Compare(history, new SegmentPolicy(), reference);
    }

    [Fact]
    public void Engine_agrees_with_the_reference_on_a_larger_history() =>
        Compare(HistoryGenerator.Generate(4_242, new HistoryShape(Buyers: 120, Days: 700)), new SegmentPolicy());

    [Theory]
    [MemberData(nameof(Policies))]
    public void Engine_agrees_with_the_reference_under_a_non_default_policy(int policy, int seed)
    {
        var p = Policy(policy);
        Assert.NotEqual(new SegmentPolicy().WindowDays, p.WindowDays);
        Compare(HistoryGenerator.Generate(seed, policy: p), p);
    }

    [Fact]
    public void The_same_seed_gives_the_same_history_and_another_seed_another()
    {
        var first = HistoryGenerator.Generate(7);
        Assert.Equal(first.Lines, HistoryGenerator.Generate(7).Lines);
        Assert.Equal(first.AsOf, HistoryGenerator.Generate(7).AsOf);
        Assert.NotEqual(first.Lines, HistoryGenerator.Generate(8).Lines);
    }

    /// <summary>
    /// The comparison only means something if the histories reach the interesting cases; this checks that the
    /// seeds of <see cref="Engine_agrees_with_the_reference"/> together do (as the reference sees them).
    /// </summary>
    [Fact]
    public void The_seeded_histories_reach_every_segment_score_boundary_and_input_case()
    {
        var coverage = new HashSet<string>();
        var (rejected, duplicateEvents, duplicateOrders, events) = (0, 0, 0, 0);
        foreach (var seed in Enumerable.Range(1, SeedCount))
        {
            var (_, reference) = SeededRun(seed);
            coverage.UnionWith(reference.Coverage);
            (rejected, duplicateEvents, duplicateOrders, events) = (rejected + reference.RejectedLines.Count,
                duplicateEvents + reference.DuplicateEvents, duplicateOrders + reference.DuplicateOrders, events + reference.CountedEvents);
        }

        string[] expected =
        [
            "segment:regular-top", "segment:regular-loyal", "segment:regular-risky", "segment:returning", "segment:new",
            "segment:interested-products", "segment:sleeping", "segment:none",
            "snapshot:regular-top", "snapshot:regular-loyal", "snapshot:regular-risky", "snapshot:returning", "snapshot:new",
            "snapshot:interested-products", "snapshot:sleeping", "snapshot:interested-categories",
            "R:1", "R:2", "R:3", "F:1", "F:2", "F:3", "M:1", "M:2", "M:3",
            "at:event", "at:boundary-only", "at:event-and-boundary", "at:window-exit", "at:recency", "at:sleeping-horizon",
            "interest:entered", "interest:left",
        ];
        Assert.Empty(expected.Except(coverage));
        Assert.True(rejected > 0 && duplicateEvents > 0 && duplicateOrders > 0, $"rejected {rejected}, duplicate events {duplicateEvents}, duplicate orders {duplicateOrders}");
        Assert.True(events > 10_000, $"only {events} counted events over {SeedCount} seeds");
    }

    private static SegmentPolicy Policy(int which) => which switch
    {
        0 => new SegmentPolicy
        {
            WindowDays = 30,
            SleepingHorizonDays = 100,
            RecencyScore1BelowDays = 7,
            RecencyScore2BelowDays = 20,
            FrequencyScore1AtLeast = 4,
            FrequencyScore2AtLeast = 3,
            MonetaryScore1AtLeast = 5000.01m,
            MonetaryScore2AtLeast = 1999.99m,
            TopScoreAtMost = 5,
            LoyalScoreAtMost = 7,
        }.Validated(),
        _ => new SegmentPolicy
        {
            WindowDays = 120,
            SleepingHorizonDays = 100,
            RecencyScore1BelowDays = 1,
            RecencyScore2BelowDays = 45,
            FrequencyScore1AtLeast = 6,
            FrequencyScore2AtLeast = 4,
            MonetaryScore1AtLeast = 3500m,
            MonetaryScore2AtLeast = 750m,
            TopScoreAtMost = 3,
            LoyalScoreAtMost = 3,
        }.Validated(),
    };

    private static (GeneratedHistory History, ReferenceModel Reference) SeededRun(int seed) =>
        Seeded.GetOrAdd(seed, s => new Lazy<(GeneratedHistory, ReferenceModel)>(() =>
        {
            var history = HistoryGenerator.Generate(s);
            return (history, new ReferenceModel(new SegmentPolicy()).Run(history.Lines, history.AsOf));
        })).Value;

    private static void Compare(GeneratedHistory history, SegmentPolicy policy, ReferenceModel? reference = null)
    {
        var harness = new TaskHarness(policy);
        var rejected = new List<int>();
        for (var i = 0; i < history.Lines.Count; i++)
        {
            if (harness.Send(history.Lines[i]) is null)
            {
                rejected.Add(i);
            }
        }

        harness.AdvanceTo(history.AsOfText);
        reference ??= new ReferenceModel(policy).Run(history.Lines, history.AsOf);

        var label = $"seed {history.Seed}, {history.Lines.Count} records, as of {history.AsOfText}";
        AssertSameRows(label, "rejected records (line numbers)",
            reference.RejectedLines.Select(i => $"{i}: {history.Lines[i]}"),
            rejected.Select(i => $"{i}: {history.Lines[i]}"));
        AssertSameRows(label, "segment changes (effectiveAt seller / buyer: from -> to)",
            reference.Changes.Select(c => SegmentRow(ReferenceModel.FormatInstant(c.EffectiveAt), c.SellerId, c.BuyerId, c.From, c.To)),
            harness.Sink.Segments.Select(c => SegmentRow(c.EffectiveAt, c.SellerId, c.BuyerId, c.From, c.To)));
        AssertSameRows(label, "category interest changes (effectiveAt category / buyer: change)",
            reference.InterestChanges.Select(c => $"{ReferenceModel.FormatInstant(c.EffectiveAt)} {c.CategoryId} / {c.BuyerId}: {(c.Entered ? "entered" : "left")}"),
            harness.Sink.Interests.Select(c => $"{c.EffectiveAt} {c.CategoryId} / {c.BuyerId}: {c.Change}"));
        AssertSameRows(label, "snapshot rows (seller / buyer: segment rfm)",
            reference.Snapshot.Select(r => $"{r.SellerId} / {r.BuyerId}: {r.Segment} {r.Rfm}"),
            harness.Snapshot(history.AsOfText).Select(r => $"{r.SellerId} / {r.BuyerId}: {r.Segment} {r.Rfm}"));

        // Guard against a vacuous pass: a history that changes nothing would agree trivially.
        Assert.True(reference.Changes.Count >= 20 && reference.InterestChanges.Count >= 10 && reference.Snapshot.Count > 0,
            $"{label}: too little happened ({reference.Changes.Count} changes, {reference.InterestChanges.Count} interest changes, {reference.Snapshot.Count} snapshot rows)");
    }

    private static string SegmentRow(string at, string seller, string buyer, string? from, string? to) =>
        $"{at} {seller} / {buyer}: {from ?? "none"} -> {to ?? "none"}";

    /// <summary>Multiset equality; on failure names the history and shows the first rows only one side has, in order.</summary>
    private static void AssertSameRows(string label, string what, IEnumerable<string> reference, IEnumerable<string> engine)
    {
        var expected = reference.Order(StringComparer.Ordinal).ToList();
        var actual = engine.Order(StringComparer.Ordinal).ToList();
        if (expected.SequenceEqual(actual))
        {
            return;
        }

        var onlyReference = Minus(expected, actual);
        var onlyEngine = Minus(actual, expected);
        Assert.Fail(
            $"{label}: {what} differ ({expected.Count} in the reference, {actual.Count} from the engine)." +
            $"{Environment.NewLine}  only in the reference ({onlyReference.Count}):{string.Concat(onlyReference.Take(8).Select(r => $"{Environment.NewLine}    {r}"))}" +
            $"{Environment.NewLine}  only from the engine ({onlyEngine.Count}):{string.Concat(onlyEngine.Take(8).Select(r => $"{Environment.NewLine}    {r}"))}");
    }

    private static List<string> Minus(List<string> left, List<string> right)
    {
        var counts = right.GroupBy(r => r, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var row in left)
        {
            if (counts.TryGetValue(row, out var n) && n > 0)
            {
                counts[row] = n - 1;
            }
            else
            {
                result.Add(row);
            }
        }

        return result;
    }
}
