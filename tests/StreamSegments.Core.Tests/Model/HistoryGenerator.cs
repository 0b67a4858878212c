using System.Globalization;
using Bogus;

namespace StreamSegments.Core.Tests.Model;

/// <summary>One generated input event, kept as data for the reference and rendered as JSON for the engine.</summary>
public sealed record GeneratedEvent(
    string Type, string EventId, long At, string BuyerId, string SellerId, string? OrderId = null, decimal Amount = 0,
    string? CategoryId = null, IReadOnlyList<string>? ItemCategories = null)
{
    public string ToJson()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(At).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var head = $"\"type\":\"{Type}\",\"eventId\":\"{EventId}\",\"occurredAt\":\"{at}\",\"buyerId\":\"{BuyerId}\",\"sellerId\":\"{SellerId}\"";
        if (Type == "order-paid")
        {
            var items = string.Join(",", (ItemCategories ?? []).Select((c, i) => $"{{\"productId\":\"p-{i}\",\"categoryId\":\"{c}\",\"quantity\":1}}"));
            return $"{{{head},\"orderId\":\"{OrderId}\",\"amount\":{Amount.ToString(CultureInfo.InvariantCulture)},\"items\":[{items}]}}";
        }

        return $"{{{head},\"productId\":\"p-x\",\"categoryId\":\"{CategoryId}\"}}";
    }
}

/// <summary>
/// Seeded random marketplace histories for the model-based test: a few sellers and categories, a few dozen
/// buyers with habits (frequent, one-off, lapsed, browsing), amounts clustered on the M thresholds, bursts that
/// cross F thresholds, re-sent events and re-sent orders. In time order; no two events of one buyer share a
/// millisecond (the contract's "segment at T vs just before T" would then merge them).
/// </summary>
public static class HistoryGenerator
{
    public const long Day = 86_400_000;
    public static readonly long Start = DateTimeOffset.Parse("2025-01-01T00:00:00Z", CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private static readonly decimal[] ThresholdAmounts = [1999.99m, 2000m, 2000.01m, 4999.99m, 5000m, 5000.01m];
    private static readonly string[] Interactions = ["product-viewed", "cart-item-added", "favorite-added", "cart-item-removed", "favorite-removed"];

    public static List<GeneratedEvent> Generate(int seed, int buyers = 30, int days = 500)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        var sellers = Enumerable.Range(0, 4).Select(i => $"s-{i}").ToArray();
        var categories = Enumerable.Range(0, 5).Select(i => $"c-{i}").ToArray();
        var sellerCategories = sellers.ToDictionary(s => s, _ => faker.PickRandom(categories, faker.Random.Int(1, 3)).ToArray());
        var events = new List<GeneratedEvent>();
        var used = new HashSet<(string, long)>();
        var orderNumber = 0;
        var eventNumber = 0;

        long Unique(string buyer, long at)
        {
            while (!used.Add((buyer, at)))
            {
                at++;
            }

            return at;
        }

        for (var b = 0; b < buyers; b++)
        {
            var buyer = $"b-{b}";
            var habit = faker.PickRandom("frequent", "one-off", "lapsed", "browser");
            var favourite = faker.PickRandom(sellers);
            var (activeFrom, activeTo) = habit == "lapsed" ? (0, days / 4) : (0, days);
            var count = habit switch { "frequent" => faker.Random.Int(10, 40), "one-off" => 3, "lapsed" => faker.Random.Int(4, 10), _ => faker.Random.Int(3, 12) };
            var ordersLeft = habit == "one-off" ? 1 : int.MaxValue;
            for (var i = 0; i < count; i++)
            {
                var seller = faker.Random.Bool(0.75f) ? favourite : faker.PickRandom(sellers);
                var at = Unique(buyer, Start + (faker.Random.Int(activeFrom, activeTo - 1) * Day) + faker.Random.Long(0, Day - 1));

                // Bursts: a frequent buyer sometimes orders several times within days, to cross F = 5 and F = 8.
                var burst = habit == "frequent" && faker.Random.Bool(0.15f) ? faker.Random.Int(3, 8) : 1;
                for (var k = 0; k < burst; k++)
                {
                    var when = Unique(buyer, at + (k * faker.Random.Long(1, 3 * Day)));
                    var isOrder = habit != "browser" && ordersLeft > 0 && faker.Random.Bool(habit == "frequent" ? 0.7f : 0.5f);
                    if (isOrder)
                    {
                        ordersLeft--;
                        var amount = faker.Random.Bool(0.4f) ? faker.PickRandom(ThresholdAmounts) : Math.Round(faker.Random.Decimal(50, 9000), 2);
                        var items = faker.PickRandom(sellerCategories[seller], faker.Random.Int(0, sellerCategories[seller].Length)).ToArray();
                        events.Add(new GeneratedEvent("order-paid", $"e-{eventNumber++}", when, buyer, seller, $"o-{orderNumber++}", amount, ItemCategories: items));
                    }
                    else
                    {
                        var category = faker.Random.Bool(0.8f) ? faker.PickRandom(sellerCategories[seller]) : faker.PickRandom(categories);
                        events.Add(new GeneratedEvent(faker.PickRandom(Interactions), $"e-{eventNumber++}", when, buyer, seller, CategoryId: category));
                    }
                }
            }
        }

        events.Sort((x, y) => x.At.CompareTo(y.At));

        // Re-sends: the same event again shortly after (same id), or an order re-published under a new event id.
        var resent = new List<GeneratedEvent>();
        foreach (var e in events.Where(_ => faker.Random.Bool(0.05f)).ToList())
        {
            var later = e with { };
            var index = events.FindIndex(x => x.At > e.At + faker.Random.Long(1, 10 * Day));
            if (e.Type == "order-paid" && faker.Random.Bool())
            {
                // Re-published with other items: the whole order is ignored, its items teach the seller nothing.
                later = e with
                {
                    EventId = $"e-{eventNumber++}",
                    At = index < 0 ? e.At : Unique(e.BuyerId, events[index].At + 1),
                    ItemCategories = faker.PickRandom(categories, faker.Random.Int(1, 2)).ToArray(),
                };
            }

            resent.Add(later);
            events.Insert(index < 0 ? events.Count : index, later);
        }

        return events;
    }
}
