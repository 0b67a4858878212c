using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamSegments.Core.Policy;

namespace StreamSegments.Core.Tests.Model;

public sealed record SegmentChangeRow(string SellerId, string BuyerId, string? From, string? To, long EffectiveAt);

public sealed record InterestChangeRow(string CategoryId, string BuyerId, bool Entered, long EffectiveAt);

public sealed record SnapshotRow(string SellerId, string BuyerId, string Segment, string? Rfm);

/// <summary>
/// A deliberately simple reading of shared/segment-rules.md, written from the contract and sharing nothing
/// with the engine but the policy's numbers (no SegmentRules, no SegmentTask, no parser, no state).
/// </summary>
/// <remarks>
/// It reads the records with System.Text.Json and validates them itself, keeps every valid event that is not a
/// duplicate in plain lists, and then works in "segment at T" terms only: it takes every instant at which
/// anything could change (each event time; each order time + window, + R1, + R2 and + sleeping horizon; each
/// interaction time + window), and at each of them, in order, evaluates every pair's direct segment and every
/// (category, buyer) interest from scratch, by brute force over the raw lists. A change is a value different
/// from the one at the previous candidate instant, which is the value "just before T": between two candidate
/// instants nothing can change. It expects the counted events in time order (only ignored records may be late).
/// </remarks>
public sealed partial class ReferenceModel(SegmentPolicy policy)
{
    private const long D = 86_400_000;
    private static readonly decimal MaxAmount = 1_000_000_000_000_000m;
    private static readonly HashSet<string> InteractionTypes = ["product-viewed", "cart-item-added", "favorite-added"];
    private static readonly HashSet<string> ProductTypes = [.. InteractionTypes, "cart-item-removed", "favorite-removed"];

    private readonly long window = policy.WindowDays * D;
    private readonly long horizon = policy.SleepingHorizonDays * D;
    private readonly List<Event> events = [];

    public List<int> RejectedLines { get; } = [];

    public int DuplicateEvents { get; private set; }

    public int DuplicateOrders { get; private set; }

    public int CountedEvents => events.Count;

    public List<SegmentChangeRow> Changes { get; } = [];

    public List<InterestChangeRow> InterestChanges { get; } = [];

    public List<SnapshotRow> Snapshot { get; } = [];

    /// <summary>What the history exercised: segments and RFM codes reached, kinds of instants at which changes happened.</summary>
    public HashSet<string> Coverage { get; } = [];

    public static string FormatInstant(long instant) =>
        DateTimeOffset.FromUnixTimeMilliseconds(instant).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads the records, then computes every change up to and including <paramref name="asOf"/> and the snapshot at it.</summary>
    public ReferenceModel Run(IReadOnlyList<string> lines, long asOf)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var eventIds = new HashSet<string>();
        var orderIds = new HashSet<(string Seller, string OrderId)>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (!TryRead(lines[i], out var e))
            {
                RejectedLines.Add(i);
            }
            else if (!eventIds.Add(e.EventId))
            {
                DuplicateEvents++;
            }
            else if (e.Type == "order-paid" && !orderIds.Add((e.Seller, e.OrderId!)))
            {
                DuplicateOrders++;
            }
            else if (e.At <= asOf)
            {
                events.Add(e);
            }
        }

        ComputeChanges(asOf);
        ComputeSnapshot(asOf);
        return this;
    }

    private void ComputeChanges(long asOf)
    {
        var pairs = events.Where(e => e.IsOrder || e.IsInteraction)
            .Select(e => (e.Seller, e.Buyer)).Distinct().Order().ToList();
        var interests = events.Where(e => e.IsInteraction)
            .Select(e => (Category: e.Category!, e.Buyer)).Distinct().Order().ToList();

        var instants = new SortedSet<long>();
        foreach (var e in events)
        {
            instants.Add(e.At);
            if (e.IsOrder)
            {
                instants.UnionWith([e.At + window, e.At + (policy.RecencyScore1BelowDays * D), e.At + (policy.RecencyScore2BelowDays * D), e.At + horizon]);
            }
            else if (e.IsInteraction)
            {
                instants.Add(e.At + window);
            }
        }

        // Per pair and per interest: its own events, and its value at the previous candidate instant ("just before").
        var pairStates = pairs.Select(p => (Key: p, Events: events.Where(e => e.Seller == p.Seller && e.Buyer == p.Buyer).ToList(), Before: (string?)null)).ToArray();
        var interestStates = interests.Select(k => (
            Key: k, Times: events.Where(e => e.Buyer == k.Buyer && e.Category == k.Category && e.IsInteraction).Select(e => e.At).ToArray(), Before: false)).ToArray();

        foreach (var t in instants.Where(t => t <= asOf))
        {
            for (var i = 0; i < pairStates.Length; i++)
            {
                ref var pair = ref pairStates[i];
                var (segment, rfm) = Direct(pair.Events, t);
                if (segment != pair.Before)
                {
                    Changes.Add(new SegmentChangeRow(pair.Key.Seller, pair.Key.Buyer, pair.Before, segment, t));
                    pair.Before = segment;
                    Note(pair.Events, t, segment, rfm);
                }
            }

            for (var i = 0; i < interestStates.Length; i++)
            {
                ref var interest = ref interestStates[i];
                var interested = false;
                foreach (var at in interest.Times)
                {
                    interested |= InWindow(at, t);
                }

                if (interested != interest.Before)
                {
                    InterestChanges.Add(new InterestChangeRow(interest.Key.Category, interest.Key.Buyer, interested, t));
                    interest.Before = interested;
                    Coverage.Add(interested ? "interest:entered" : "interest:left");
                }
            }
        }
    }

    private void ComputeSnapshot(long asOf)
    {
        var direct = new HashSet<(string Seller, string Buyer)>();
        foreach (var pair in events.Select(e => (e.Seller, e.Buyer)).Distinct())
        {
            var (segment, rfm) = Direct(events.Where(e => e.Seller == pair.Seller && e.Buyer == pair.Buyer).ToList(), asOf);
            if (segment is not null)
            {
                direct.Add(pair);
                Snapshot.Add(new SnapshotRow(pair.Seller, pair.Buyer, segment, rfm));
                Coverage.Add($"snapshot:{segment}");
            }
        }

        // cats(s): every category that appeared with s in an interaction or an order's items (not in a removal,
        // which "changes no segment").
        var cats = new Dictionary<string, HashSet<string>>();
        foreach (var e in events.Where(e => e.Type == "order-paid" || InteractionTypes.Contains(e.Type)))
        {
            if (!cats.TryGetValue(e.Seller, out var set))
            {
                cats[e.Seller] = set = [];
            }

            set.UnionWith(e.Type == "order-paid" ? e.Items : [e.Category!]);
        }

        foreach (var buyer in events.Select(e => e.Buyer).Distinct())
        {
            var interestedIn = events.Where(e => e.Buyer == buyer && InteractionTypes.Contains(e.Type) && InWindow(e.At, asOf))
                .Select(e => e.Category!).ToHashSet();
            foreach (var (seller, categories) in cats)
            {
                if (!direct.Contains((seller, buyer)) && categories.Overlaps(interestedIn))
                {
                    Snapshot.Add(new SnapshotRow(seller, buyer, "interested-categories", null));
                    Coverage.Add("snapshot:interested-categories");
                }
            }
        }
    }

    /// <summary>The direct segment of a pair at <paramref name="t"/> (first rule that matches), and its RFM code when n >= 1.</summary>
    private (string? Segment, string? Rfm) Direct(List<Event> pair, long t)
    {
        var n = 0;
        var total = 0m;
        long? lastOrder = null;
        long? lastOrderEver = null;
        var interacted = false;
        foreach (var e in pair)
        {
            if (e.IsOrder)
            {
                if (e.At <= t && (lastOrderEver is null || e.At > lastOrderEver))
                {
                    lastOrderEver = e.At;
                }

                if (InWindow(e.At, t))
                {
                    n++;
                    total += e.Amount;
                    lastOrder = lastOrder is null ? e.At : Math.Max(lastOrder.Value, e.At);
                }
            }
            else if (e.IsInteraction && InWindow(e.At, t))
            {
                interacted = true;
            }
        }

        if (n >= 1)
        {
            var recencyDays = (t - lastOrder!.Value) / D; // t >= lastOrder, so this is the floor
            var r = recencyDays < policy.RecencyScore1BelowDays ? 1 : recencyDays < policy.RecencyScore2BelowDays ? 2 : 3;
            var f = n >= policy.FrequencyScore1AtLeast ? 1 : n >= policy.FrequencyScore2AtLeast ? 2 : 3;
            var m = total >= policy.MonetaryScore1AtLeast * n ? 1 : total >= policy.MonetaryScore2AtLeast * n ? 2 : 3;
            var rfm = $"R{r}F{f}M{m}";
            if (n >= 3)
            {
                var s = r + f + m;
                return (s <= policy.TopScoreAtMost ? "regular-top" : s <= policy.LoyalScoreAtMost ? "regular-loyal" : "regular-risky", rfm);
            }

            return (n == 2 ? "returning" : "new", rfm);
        }

        if (interacted)
        {
            return ("interested-products", null);
        }

        return lastOrderEver is { } ever && t - ever < horizon ? ("sleeping", null) : (null, null);
    }

    private bool InWindow(long at, long t) => t - window < at && at <= t;

    /// <summary>Records what kind of instant a change happened at, and the segment and RFM scores it reached.</summary>
    private void Note(List<Event> pair, long t, string? segment, string? rfm)
    {
        Coverage.Add($"segment:{segment ?? "none"}");
        if (rfm is not null)
        {
            Coverage.UnionWith([$"R:{rfm[1]}", $"F:{rfm[3]}", $"M:{rfm[5]}"]);
        }

        var orders = pair.Where(e => e.Type == "order-paid").Select(e => e.At).ToHashSet();
        var atEvent = pair.Any(e => e.At == t);
        var atBoundary = false;
        void Kind(bool hit, string name)
        {
            if (hit)
            {
                Coverage.Add(name);
                atBoundary = true;
            }
        }

        Kind(pair.Any(e => e.At + window == t && (e.Type == "order-paid" || InteractionTypes.Contains(e.Type))), "at:window-exit");
        Kind(orders.Contains(t - (policy.RecencyScore1BelowDays * D)) || orders.Contains(t - (policy.RecencyScore2BelowDays * D)), "at:recency");
        Kind(orders.Contains(t - horizon), "at:sleeping-horizon");
        Coverage.Add(atEvent && atBoundary ? "at:event-and-boundary" : atEvent ? "at:event" : "at:boundary-only");
    }

    private static bool TryRead(string line, out Event e)
    {
        e = default!;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !Text(root, "type", out var type) || (type != "order-paid" && !ProductTypes.Contains(type))
                || !Text(root, "eventId", out var eventId) || !Text(root, "buyerId", out var buyerId)
                || !Text(root, "sellerId", out var sellerId)
                || !Text(root, "occurredAt", out var occurredAt) || !TryParseInstant(occurredAt, out var at))
            {
                return false;
            }

            if (type != "order-paid")
            {
                if (!Text(root, "productId", out _) || !Text(root, "categoryId", out var category))
                {
                    return false;
                }

                e = new Event(type, eventId, at, buyerId, sellerId, null, 0, category, []);
                return true;
            }

            if (!Text(root, "orderId", out var orderId) || !root.TryGetProperty("amount", out var amount)
                || amount.ValueKind != JsonValueKind.Number || !amount.TryGetDecimal(out var value) || value < 0 || value > MaxAmount)
            {
                return false;
            }

            var items = new List<string>();
            if (root.TryGetProperty("items", out var list) && list.ValueKind != JsonValueKind.Null)
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    return false;
                }

                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object || !Text(item, "productId", out _) || !Text(item, "categoryId", out var category))
                    {
                        return false;
                    }

                    items.Add(category);
                }
            }

            e = new Event(type, eventId, at, buyerId, sellerId, orderId, value, null, items);
            return true;
        }
    }

    private static bool Text(JsonElement element, string name, out string value)
    {
        value = string.Empty;
        if (!element.TryGetProperty(name, out var property) || property.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = property.GetString()!;
        return value.Length > 0;
    }

    /// <summary>RFC 3339 in UTC (Z or a zero offset), fraction optional, to the millisecond.</summary>
    private static bool TryParseInstant(string text, out long at)
    {
        at = 0;
        var match = Rfc3339Utc().Match(text);
        if (!match.Success)
        {
            return false;
        }

        int Part(int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
        var (year, month, day, hour, minute, second) = (Part(1), Part(2), Part(3), Part(4), Part(5), Part(6));
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var millis = match.Groups[7].Success ? int.Parse(match.Groups[7].Value.PadRight(3, '0')[..3], CultureInfo.InvariantCulture) : 0;
        at = new DateTimeOffset(year, month, day, hour, minute, second, millis, TimeSpan.Zero).ToUnixTimeMilliseconds();
        return true;
    }

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|\+00:00|-00:00)$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339Utc();

    private sealed record Event(
        string Type, string EventId, long At, string Buyer, string Seller, string? OrderId, decimal Amount, string? Category,
        List<string> Items)
    {
        public bool IsOrder { get; } = Type == "order-paid";

        public bool IsInteraction { get; } = InteractionTypes.Contains(Type);
    }
}
