using System.Globalization;
using StreamSegments.Core.Policy;

namespace StreamSegments.Core.Tests.Model;

/// <summary>
/// A deliberately naive reading of shared/segment-rules.md, written without any of the engine's code: it keeps
/// every counted event, evaluates each pair and interest from scratch at every instant where anything could
/// change, and reports a change whenever the value differs from the previous one. Slow and obviously right.
/// </summary>
public sealed class ReferenceModel(SegmentPolicy policy)
{
    private readonly long window = policy.WindowDays * HistoryGenerator.Day;
    private readonly long horizon = policy.SleepingHorizonDays * HistoryGenerator.Day;
    private readonly Dictionary<(string Seller, string Buyer), Pair> pairs = [];
    private readonly Dictionary<(string Category, string Buyer), Interest> interests = [];
    private readonly Dictionary<string, HashSet<string>> cats = [];
    private readonly HashSet<string> seenEvents = [];
    private readonly HashSet<(string, string)> countedOrders = [];

    public List<string> Changes { get; } = [];

    public List<string> CategoryChanges { get; } = [];

    /// <summary>Applies the events in order (they must not go back in time, except re-sends) up to and including <paramref name="asOf"/>.</summary>
    public void Run(IEnumerable<GeneratedEvent> events, long asOf)
    {
        var clock = long.MinValue;
        foreach (var e in events.Where(e => e.At <= asOf))
        {
            if (!seenEvents.Add(e.EventId))
            {
                continue;
            }

            if (e.At > clock)
            {
                Sweep(clock, e.At - 1);
                clock = e.At;
            }

            var key = (e.SellerId, e.BuyerId);
            if (e.Type == "order-paid")
            {
                if (!countedOrders.Add((e.SellerId, e.OrderId!)))
                {
                    continue;
                }

                foreach (var c in e.ItemCategories ?? [])
                {
                    Cats(e.SellerId).Add(c);
                }

                PairOf(key).Orders.Add((e.At, e.Amount));
                EvaluatePair(key, clock);
            }
            else
            {
                Cats(e.SellerId).Add(e.CategoryId!);
                if (e.Type is "product-viewed" or "cart-item-added" or "favorite-added")
                {
                    PairOf(key).Interactions.Add(e.At);
                    EvaluatePair(key, clock);
                    var ck = (e.CategoryId!, e.BuyerId);
                    if (!interests.TryGetValue(ck, out var interest))
                    {
                        interests[ck] = interest = new Interest();
                    }

                    interest.Interactions.Add(e.At);
                    EvaluateInterest(ck, clock);
                }
            }
        }

        Sweep(clock, asOf);
    }

    /// <summary>Every (seller, buyer) with a segment at <paramref name="asOf"/>, interested-categories included.</summary>
    public List<string> Snapshot(long asOf)
    {
        var rows = new List<string>();
        var direct = new HashSet<(string, string)>();
        foreach (var (key, pair) in pairs)
        {
            var (segment, rfm) = Segment(pair, asOf);
            if (segment is not null)
            {
                direct.Add(key);
                rows.Add($"{key.Seller}|{key.Buyer}|{segment}|{rfm}");
            }
        }

        var buyers = interests.Where(i => Interested(i.Value, asOf)).GroupBy(i => i.Key.Buyer, i => i.Key.Category);
        foreach (var buyer in buyers)
        {
            foreach (var (seller, categories) in cats)
            {
                if (!direct.Contains((seller, buyer.Key)) && buyer.Any(categories.Contains))
                {
                    rows.Add($"{seller}|{buyer.Key}|interested-categories|");
                }
            }
        }

        return rows;
    }

    private void Sweep(long after, long until)
    {
        var instants = new SortedSet<long>();
        foreach (var pair in pairs.Values)
        {
            foreach (var (t, _) in pair.Orders)
            {
                instants.UnionWith([t + window, t + (policy.RecencyScore1BelowDays * HistoryGenerator.Day), t + (policy.RecencyScore2BelowDays * HistoryGenerator.Day), t + horizon]);
            }

            foreach (var t in pair.Interactions)
            {
                instants.Add(t + window);
            }
        }

        foreach (var interest in interests.Values)
        {
            foreach (var t in interest.Interactions)
            {
                instants.Add(t + window);
            }
        }

        foreach (var instant in instants.GetViewBetween(after == long.MinValue ? long.MinValue : after + 1, until))
        {
            foreach (var key in pairs.Keys.Order())
            {
                EvaluatePair(key, instant);
            }

            foreach (var key in interests.Keys.Order())
            {
                EvaluateInterest(key, instant);
            }
        }
    }

    private void EvaluatePair((string Seller, string Buyer) key, long at)
    {
        var pair = pairs[key];
        var (segment, _) = Segment(pair, at);
        if (segment != pair.Published)
        {
            Changes.Add($"{key.Seller}|{key.Buyer}|{pair.Published}|{segment}|{Format(at)}");
            pair.Published = segment;
        }
    }

    private void EvaluateInterest((string Category, string Buyer) key, long at)
    {
        var interest = interests[key];
        var now = Interested(interest, at);
        if (now != interest.Published)
        {
            CategoryChanges.Add($"{key.Category}|{key.Buyer}|{(now ? "entered" : "left")}|{Format(at)}");
            interest.Published = now;
        }
    }

    private (string? Segment, string? Rfm) Segment(Pair pair, long at)
    {
        var inWindow = pair.Orders.Where(o => o.At > at - window && o.At <= at).ToList();
        var n = inWindow.Count;
        if (n > 0)
        {
            var total = inWindow.Sum(o => o.Amount);
            var days = (at - inWindow.Max(o => o.At)) / HistoryGenerator.Day;
            var r = days < policy.RecencyScore1BelowDays ? 1 : days < policy.RecencyScore2BelowDays ? 2 : 3;
            var f = n >= policy.FrequencyScore1AtLeast ? 1 : n >= policy.FrequencyScore2AtLeast ? 2 : 3;
            var aov = total / n;
            var m = aov >= policy.MonetaryScore1AtLeast ? 1 : aov >= policy.MonetaryScore2AtLeast ? 2 : 3;
            var rfm = $"R{r}F{f}M{m}";
            var s = r + f + m;
            var segment = n >= 3
                ? s <= policy.TopScoreAtMost ? "regular-top" : s <= policy.LoyalScoreAtMost ? "regular-loyal" : "regular-risky"
                : n == 2 ? "returning" : "new";
            return (segment, rfm);
        }

        if (pair.Interactions.Any(t => t > at - window && t <= at))
        {
            return ("interested-products", null);
        }

        var ever = pair.Orders.Where(o => o.At <= at).Select(o => (long?)o.At).Max();
        return ever is { } last && at - last < horizon ? ("sleeping", null) : (null, null);
    }

    private bool Interested(Interest interest, long at) => interest.Interactions.Any(t => t > at - window && t <= at);

    private Pair PairOf((string, string) key) => pairs.TryGetValue(key, out var pair) ? pair : pairs[key] = new Pair();

    private HashSet<string> Cats(string seller) => cats.TryGetValue(seller, out var set) ? set : cats[seller] = [];

    private static string Format(long at) =>
        DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private sealed class Pair
    {
        public List<(long At, decimal Amount)> Orders { get; } = [];

        public List<long> Interactions { get; } = [];

        public string? Published { get; set; }
    }

    private sealed class Interest
    {
        public List<long> Interactions { get; } = [];

        public bool Published { get; set; }
    }
}
