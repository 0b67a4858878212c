using System.Buffers;
using System.Text.Json;
using Bogus;
using StreamSegments.Core.Time;

namespace StreamSegments.Worker.Demo;

/// <summary>
/// A small Bogus-made marketplace: sellers with a few departments each, products, and buyers with habits
/// (frequent big spenders, one-off buyers, buyers who lapse, browsers who never buy). Produces one event at a
/// time as the JSON value the input topics carry. Seeded: the same options give the same marketplace.
/// </summary>
public sealed class DemoMarketplace
{
    private readonly Faker faker;
    private readonly string[] categories;
    private readonly Seller[] sellers;
    private readonly Buyer[] buyers;
    private readonly ArrayBufferWriter<byte> buffer = new(1024);
    private long sequence;

    public DemoMarketplace(DemoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Randomizer.Seed = new Random(options.Seed);
        faker = new Faker { Random = new Randomizer(options.Seed) };
        categories = Enumerable.Range(0, options.Categories)
            .Select(i => $"c-{Slug(faker.Commerce.Department(1))}-{i:D2}")
            .ToArray();
        sellers = Enumerable.Range(1, options.Sellers)
            .Select(i => new Seller($"s-{i:D4}", faker.PickRandom(categories, faker.Random.Int(1, Math.Min(4, categories.Length))).ToArray()))
            .ToArray();
        buyers = Enumerable.Range(1, options.Buyers)
            .Select(i => new Buyer($"b-{i:D6}", faker.Random.WeightedRandom([Habit.Frequent, Habit.OneOff, Habit.Lapsing, Habit.Browsing], [0.15f, 0.35f, 0.2f, 0.3f]), faker.PickRandom(sellers)))
            .ToArray();
    }

    public enum Habit
    {
        Frequent,
        OneOff,
        Lapsing,
        Browsing,
    }

    /// <summary>
    /// The next event at <paramref name="at"/>; <paramref name="progress"/> (0..1 through the history, 1 when live)
    /// lets lapsing buyers fade out. The value is valid until the next call.
    /// </summary>
    public DemoEvent Next(long at, double progress)
    {
        var buyer = PickBuyer(progress);
        var seller = faker.Random.Bool(0.75f) ? buyer.Favourite : faker.PickRandom(sellers);
        var category = faker.PickRandom(seller.Categories);
        var buys = buyer.Habit switch
        {
            Habit.Frequent => faker.Random.Bool(0.45f),
            Habit.OneOff => !buyer.HasOrdered && faker.Random.Bool(0.3f),
            Habit.Lapsing => faker.Random.Bool(0.3f),
            _ => false,
        };

        buffer.ResetWrittenCount();
        using var json = new Utf8JsonWriter(buffer);
        json.WriteStartObject();
        string type;
        if (buys)
        {
            buyer.HasOrdered = true;
            type = "order-paid";
            json.WriteString("type", type);
            WriteCommon(json, at, buyer, seller);
            json.WriteString("orderId", $"o-{seller.Id}-{++seller.Orders:D7}");
            var items = faker.Random.Int(1, 3);
            var total = 0m;
            var lines = new (string Category, int Quantity, decimal Price)[items];
            for (var i = 0; i < items; i++)
            {
                var price = decimal.Parse(faker.Commerce.Price(buyer.Habit == Habit.Frequent ? 800 : 150, buyer.Habit == Habit.Frequent ? 6000 : 2500), System.Globalization.CultureInfo.InvariantCulture);
                lines[i] = (faker.PickRandom(seller.Categories), faker.Random.Int(1, 2), price);
                total += price * lines[i].Quantity;
            }

            json.WriteNumber("amount", total);
            json.WriteString("currency", "RUB");
            json.WriteStartArray("items");
            foreach (var (lineCategory, quantity, price) in lines)
            {
                json.WriteStartObject();
                json.WriteString("productId", $"p-{seller.Id}-{lineCategory}-{faker.Random.Int(1, 40):D2}");
                json.WriteString("categoryId", lineCategory);
                json.WriteNumber("quantity", quantity);
                json.WriteNumber("price", price);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            type = faker.Random.WeightedRandom(
                ["product-viewed", "cart-item-added", "cart-item-removed", "favorite-added", "favorite-removed"],
                [0.65f, 0.15f, 0.05f, 0.1f, 0.05f]);
            json.WriteString("type", type);
            WriteCommon(json, at, buyer, seller);
            json.WriteString("productId", $"p-{seller.Id}-{category}-{faker.Random.Int(1, 40):D2}");
            json.WriteString("categoryId", category);
            if (type.StartsWith("cart", StringComparison.Ordinal))
            {
                json.WriteNumber("quantity", faker.Random.Int(1, 3));
            }
        }

        json.WriteEndObject();
        json.Flush();
        return new DemoEvent(type, buyer.Id, buffer.WrittenMemory);
    }

    private Buyer PickBuyer(double progress)
    {
        while (true)
        {
            var buyer = faker.PickRandom(buyers);
            var weight = buyer.Habit switch
            {
                Habit.Frequent => 1.0,
                Habit.Lapsing => progress < 0.4 ? 0.8 : 0.02,
                _ => 0.3,
            };
            if (faker.Random.Double() < weight)
            {
                return buyer;
            }
        }
    }

    private void WriteCommon(Utf8JsonWriter json, long at, Buyer buyer, Seller seller)
    {
        json.WriteString("eventId", $"demo-{faker.Random.Hexadecimal(8, prefix: string.Empty)}-{++sequence}");
        json.WriteString("occurredAt", EventTime.Format(at));
        json.WriteString("buyerId", buyer.Id);
        json.WriteString("sellerId", seller.Id);
    }

    private static string Slug(string text) => new(text.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());

    private sealed class Seller(string id, string[] categories)
    {
        public string Id { get; } = id;

        public string[] Categories { get; } = categories;

        public long Orders { get; set; }
    }

    private sealed class Buyer(string id, Habit habit, Seller favourite)
    {
        public string Id { get; } = id;

        public Habit Habit { get; } = habit;

        public Seller Favourite { get; } = favourite;

        public bool HasOrdered { get; set; }
    }
}

/// <summary>One demo event: its type (which picks the topic), its buyer (the key) and its JSON value.</summary>
public readonly record struct DemoEvent(string Type, string BuyerId, ReadOnlyMemory<byte> Value);
