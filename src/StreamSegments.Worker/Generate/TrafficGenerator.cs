using System.Buffers;
using System.Text.Json;

namespace StreamSegments.Worker.Generate;

/// <summary>
/// Writes a synthetic marketplace's event stream as JSON lines in time order, fast enough for millions of
/// events (seeded <see cref="Random"/> and Utf8JsonWriter; no per-event object model). Buyers have habits:
/// frequent big spenders, occasional buyers, lapsed buyers active only early on, and browsers who rarely buy.
/// The same options and seed always give the same bytes.
/// </summary>
public sealed class TrafficGenerator
{
    private static readonly (string Kind, double Weight)[] BuyerKinds =
    [
        ("frequent", 0.10), ("occasional", 0.40), ("lapsed", 0.20), ("browser", 0.30),
    ];

    private readonly GeneratorOptions options;
    private readonly Random random;
    private readonly int[][] sellerCategories;
    private readonly int[] buyerKind;
    private readonly int[] buyerFavouriteSeller;
    private readonly int[][] buyersByKind;
    private readonly byte[][] recent = new byte[1024][];
    private long recentCount;
    private long orders;

    private TrafficGenerator(GeneratorOptions options)
    {
        this.options = options;
        random = new Random(options.Seed);
        sellerCategories = Enumerable.Range(0, options.Sellers)
            .Select(_ => Enumerable.Range(0, 1 + random.Next(Math.Min(5, options.Categories))).Select(_ => random.Next(options.Categories)).Distinct().ToArray())
            .ToArray();
        buyerKind = new int[options.Buyers];
        buyerFavouriteSeller = new int[options.Buyers];
        for (var b = 0; b < options.Buyers; b++)
        {
            buyerKind[b] = PickKind();
            buyerFavouriteSeller[b] = random.Next(options.Sellers);
        }

        buyersByKind = Enumerable.Range(0, BuyerKinds.Length)
            .Select(k => Enumerable.Range(0, options.Buyers).Where(b => buyerKind[b] == k).ToArray())
            .ToArray();
    }

    /// <summary>Writes <see cref="GeneratorOptions.Events"/> lines; returns the instant of the last event.</summary>
    public static DateTimeOffset Write(Stream output, GeneratorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TrafficGenerator(options).Run(output, cancellationToken);
    }

    private DateTimeOffset Run(Stream output, CancellationToken cancellationToken)
    {
        using var buffered = new BufferedStream(output, 1 << 20);
        var line = new ArrayBufferWriter<byte>(4096);
        using var json = new Utf8JsonWriter(line, new JsonWriterOptions { SkipValidation = true });
        var start = options.Start.ToUnixTimeMilliseconds();
        var span = options.Days * 86_400_000L;
        var step = Math.Max(1, span / options.Events);
        var at = start;
        for (long i = 0; i < options.Events; i++)
        {
            if ((i & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            at = Math.Max(at + 1, start + (span * i / options.Events) + random.NextInt64(step));
            var roll = random.NextDouble();
            if (roll < options.InvalidRate)
            {
                WriteInvalid(buffered, i, at);
            }
            else if (roll < options.InvalidRate + options.DuplicateRate && recentCount > 0)
            {
                buffered.Write(recent[random.Next((int)Math.Min(recentCount, recent.Length))]);
            }
            else
            {
                line.ResetWrittenCount();
                WriteEvent(json, i, at, (double)(at - start) / span);
                json.Flush();
                json.Reset();
                buffered.Write(line.WrittenSpan);

                // Keep a sample of recent lines to re-send verbatim later, as a retrying producer would.
                if ((i & 15) == 0)
                {
                    recent[(int)(recentCount++ % recent.Length)] = line.WrittenSpan.ToArray();
                }
            }

            buffered.WriteByte((byte)'\n');
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(at);
    }

    private void WriteEvent(Utf8JsonWriter json, long index, long at, double progress)
    {
        var kind = PickActiveKind(progress);
        var buyers = buyersByKind[kind];
        var buyer = buyers.Length > 0 ? buyers[random.Next(buyers.Length)] : random.Next(options.Buyers);
        var seller = random.NextDouble() < 0.7 ? buyerFavouriteSeller[buyer] : random.Next(options.Sellers);
        var categories = sellerCategories[seller];
        var orderShare = kind switch { 0 => 0.40, 1 => 0.20, 2 => 0.25, _ => 0.02 };
        var roll = random.NextDouble();

        json.WriteStartObject();
        if (roll < orderShare)
        {
            json.WriteString("type"u8, "order-paid"u8);
            WriteCommon(json, index, at, buyer, seller);
            json.WriteString("orderId"u8, $"o-{++orders:D9}");
            var items = 1 + random.Next(3);
            var mean = kind == 0 ? 3500.0 : 1500.0;
            var total = 0m;
            Span<(int Category, int Quantity, decimal Price)> lines = stackalloc (int, int, decimal)[3];
            for (var i = 0; i < items; i++)
            {
                var price = Math.Round((decimal)(mean * Math.Exp(0.6 * Gaussian())), 2);
                lines[i] = (categories[random.Next(categories.Length)], 1 + random.Next(2), price);
                total += price * lines[i].Quantity;
            }

            json.WriteNumber("amount"u8, total);
            json.WriteString("currency"u8, "RUB"u8);
            json.WriteStartArray("items"u8);
            for (var i = 0; i < items; i++)
            {
                json.WriteStartObject();
                json.WriteString("productId"u8, $"p-{seller:D4}-{lines[i].Category:D3}");
                json.WriteString("categoryId"u8, $"c-{lines[i].Category:D3}");
                json.WriteNumber("quantity"u8, lines[i].Quantity);
                json.WriteNumber("price"u8, lines[i].Price);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
        else
        {
            var interaction = random.NextDouble();
            json.WriteString("type"u8, interaction switch
            {
                < 0.65 => "product-viewed"u8,
                < 0.80 => "cart-item-added"u8,
                < 0.86 => "cart-item-removed"u8,
                < 0.96 => "favorite-added"u8,
                _ => "favorite-removed"u8,
            });
            WriteCommon(json, index, at, buyer, seller);
            var category = categories[random.Next(categories.Length)];
            json.WriteString("productId"u8, $"p-{seller:D4}-{category:D3}");
            json.WriteString("categoryId"u8, $"c-{category:D3}");
            if (interaction is >= 0.65 and < 0.86)
            {
                json.WriteNumber("quantity"u8, 1 + random.Next(3));
            }
        }

        json.WriteEndObject();
    }

    private static void WriteCommon(Utf8JsonWriter json, long index, long at, int buyer, int seller)
    {
        json.WriteString("eventId"u8, $"e-{index:D10}");
        json.WriteString("occurredAt"u8, DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteString("buyerId"u8, $"b-{buyer:D7}");
        json.WriteString("sellerId"u8, $"s-{seller:D4}");
    }

    private static void WriteInvalid(Stream output, long index, long at)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var line = (index % 6) switch
        {
            0 => $$"""{"type":"order-paid","eventId":"bad-{{index}}","occurredAt":"{{time}}","buyerId":"b-0000001",""",
            1 => $$"""{"type":"order-paid","eventId":"bad-{{index}}","occurredAt":"{{time}}","buyerId":"b-0000001","sellerId":"s-0001","orderId":"o-bad","amount":-5}""",
            2 => $$"""{"type":"order-paid","eventId":"bad-{{index}}","occurredAt":"2026-02-30T00:00:00Z","buyerId":"b-0000001","sellerId":"s-0001","orderId":"o-bad","amount":5}""",
            3 => $$"""{"type":"product-viewed","eventId":"bad-{{index}}","occurredAt":"{{time}}","buyerId":"b-0000001","sellerId":"s-0001","productId":"p"}""",
            4 => $$"""{"type":"teleported","eventId":"bad-{{index}}","occurredAt":"{{time}}","buyerId":"b-0000001","sellerId":"s-0001"}""",
            _ => $$"""{"type":"order-paid","eventId":"bad-{{index}}","occurredAt":"{{time}}","buyerId":"b-0000001","sellerId":"s-0001","orderId":"o-bad","amount":"5"}""",
        };
        output.Write(System.Text.Encoding.UTF8.GetBytes(line));
    }

    private int PickKind()
    {
        var roll = random.NextDouble();
        for (var k = 0; k < BuyerKinds.Length; k++)
        {
            roll -= BuyerKinds[k].Weight;
            if (roll < 0)
            {
                return k;
            }
        }

        return BuyerKinds.Length - 1;
    }

    /// <summary>Which kind of buyer acts next: frequent buyers act most; lapsed buyers fade after the first third.</summary>
    private int PickActiveKind(double progress)
    {
        Span<double> weights = [0.10 * 8, 0.40 * 1.5, 0.20 * (progress < 0.33 ? 3 : 0.1), 0.30 * 2];
        var total = weights[0] + weights[1] + weights[2] + weights[3];
        var roll = random.NextDouble() * total;
        for (var k = 0; k < weights.Length; k++)
        {
            roll -= weights[k];
            if (roll < 0)
            {
                return k;
            }
        }

        return weights.Length - 1;
    }

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
