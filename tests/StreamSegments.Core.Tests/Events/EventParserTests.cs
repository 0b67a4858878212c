using System.Text;
using StreamSegments.Core.Events;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Events;

public class EventParserTests
{
    private const string Order = """{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":5}""";
    private const string View = """{"type":"product-viewed","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b1","sellerId":"s1","productId":"p","categoryId":"c"}""";

    private readonly EventParser parser = new(new SymbolTable(), new SymbolTable());
    private readonly BuyerEvent parsed = new();

    [Theory]
    [InlineData("""{"type":"order-paid",""", RejectReason.MalformedJson, null)]
    [InlineData("""{"type":"order-paid","eventId":"e1"} {}""", RejectReason.MalformedJson, null)]
    [InlineData("""[1]""", RejectReason.NotAnObject, null)]
    [InlineData("""null""", RejectReason.NotAnObject, null)]
    [InlineData("""42""", RejectReason.NotAnObject, null)]
    [InlineData("", RejectReason.MalformedJson, null)]
    [InlineData("""{"eventId":"e1"}""", RejectReason.MissingField, "type")]
    [InlineData("""{"type":"refund","eventId":"e1"}""", RejectReason.UnknownType, "type")]
    [InlineData("""{"type":"order-paid","type":"order-paid"}""", RejectReason.DuplicateField, "type")]
    public void Structural_problems_are_rejected(string line, RejectReason reason, string? field) => AssertRejected(line, reason, field);

    [Theory]
    [InlineData("eventId")]
    [InlineData("occurredAt")]
    [InlineData("buyerId")]
    [InlineData("sellerId")]
    [InlineData("orderId")]
    [InlineData("amount")]
    public void Each_required_order_field_is_required(string field) =>
        AssertRejected(Without(Order, field), RejectReason.MissingField, field);

    [Theory]
    [InlineData("productId")]
    [InlineData("categoryId")]
    public void Interactions_need_a_product_and_a_category(string field) =>
        AssertRejected(Without(View, field), RejectReason.MissingField, field);

    [Theory]
    [InlineData("\"buyerId\":\"b1\"", "\"buyerId\":\"\"", RejectReason.EmptyField, "buyerId")]
    [InlineData("\"sellerId\":\"s1\"", "\"sellerId\":7", RejectReason.WrongType, "sellerId")]
    [InlineData("\"amount\":5", "\"amount\":\"5\"", RejectReason.WrongType, "amount")]
    [InlineData("\"amount\":5", "\"amount\":true", RejectReason.WrongType, "amount")]
    [InlineData("\"amount\":5", "\"amount\":-0.01", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":1000000000000000.01", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":1e400", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":1000000000000000.00000000000001", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":1.00000000000000000000000000000001e15", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":-0.000000000000000000000000000000001", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":0.1e99999999999", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":10000000000000001e-1", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":-1e-99999999999999999999", RejectReason.OutOfRange, "amount")]
    [InlineData("\"amount\":5", "\"amount\":5,\"items\":[{\"productId\":\"p\",\"categoryId\":\"c\",\"price\":2e99999999999}]", RejectReason.OutOfRange, "items[].price")]
    [InlineData("2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T24:00:00Z", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("2026-01-01T00:00:00Z", "2026-13-01T00:00:00Z", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T00:00:00", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+03:00", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T00:00:60Z", RejectReason.InvalidTime, "occurredAt")]
    [InlineData("\"buyerId\":\"b1\"", "\"buyerId\":\"b\\ud800\"", RejectReason.InvalidUtf8, "buyerId")]
    [InlineData("\"amount\":5", "\"amount\":5,\"items\":[{\"productId\":\"p\"}]", RejectReason.MissingField, "items[].categoryId")]
    [InlineData("\"amount\":5", "\"amount\":5,\"items\":[{\"productId\":\"p\",\"categoryId\":\"c\",\"quantity\":-1}]", RejectReason.OutOfRange, "quantity")]
    [InlineData("\"amount\":5", "\"amount\":5,\"items\":[{\"productId\":\"p\",\"categoryId\":\"c\",\"quantity\":1.5}]", RejectReason.WrongType, "quantity")]
    [InlineData("\"amount\":5", "\"amount\":5,\"items\":{}", RejectReason.WrongType, "items")]
    public void Bad_values_are_rejected_with_the_field_at_fault(string replace, string with, RejectReason reason, string field) =>
        AssertRejected(Order.Replace(replace, with, StringComparison.Ordinal), reason, field);

    [Theory]
    [InlineData(20)]
    [InlineData(100_000)]
    public void A_foreign_field_nested_however_deep_is_ignored(int depth)
    {
        var nested = new string('[', depth) + new string(']', depth);
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(View.Replace("}", $",\"meta\":{nested}}}", StringComparison.Ordinal)), parsed, out var rejection), rejection.Message);
        Assert.Equal(EventKind.ProductViewed, parsed.Kind);
    }

    [Fact]
    public void A_huge_exponent_on_a_view_is_ignored_like_any_foreign_field()
    {
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(View.Replace("}", ",\"amount\":0e99999999999}", StringComparison.Ordinal)), parsed, out var rejection), rejection.Message);
    }

    [Theory]
    [InlineData("type", RejectReason.UnknownType)]
    [InlineData("occurredAt", RejectReason.InvalidTime)]
    public void A_rejection_quotes_at_most_64_bytes_of_the_field_at_fault(string field, RejectReason reason)
    {
        var huge = new string('\u00e9', 300_000); // 600,000 bytes, two per character
        var line = field == "type"
            ? Order.Replace("order-paid", huge, StringComparison.Ordinal)
            : Order.Replace("2026-01-01T00:00:00Z", huge, StringComparison.Ordinal);

        Assert.False(parser.TryParse(Encoding.UTF8.GetBytes(line), parsed, out var rejection));
        Assert.Equal(reason, rejection.Reason);
        Assert.Contains(new string('\u00e9', EventParser.MaxExcerptBytes / 2) + "... (600000 bytes)", rejection.Message, StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(rejection.Message) < 200, rejection.Message);
    }

    [Fact]
    public void A_record_over_1_MiB_is_rejected_and_one_just_under_is_read()
    {
        var padding = (1 << 20) - Order.Length - 12;
        var under = Order.Replace("}", $",\"pad\":\"{new string('x', padding)}\"}}", StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(under) <= 1 << 20);
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(under), parsed, out _));

        var over = Order.Replace("}", $",\"pad\":\"{new string('x', padding + 100)}\"}}", StringComparison.Ordinal);
        Assert.False(parser.TryParse(Encoding.UTF8.GetBytes(over), parsed, out var rejection));
        Assert.Equal(RejectReason.TooLarge, rejection.Reason);
    }

    [Fact]
    public void Binary_garbage_is_rejected_as_malformed()
    {
        var random = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, 300)];
            random.NextBytes(bytes);
            Assert.False(parser.TryParse(bytes, parsed, out var rejection));
            Assert.Contains(rejection.Reason, new[] { RejectReason.MalformedJson, RejectReason.NotAnObject });
        }
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("1000000000000000", "1000000000000000")]
    [InlineData("1000000000000000.000", "1000000000000000")]
    [InlineData("1e15", "1000000000000000")]
    [InlineData("999999999999999.999999999999999999", "1000000000000000")]
    [InlineData("-0", "0")]
    [InlineData("-0.000", "0")]
    [InlineData("0.0000000000000000000000000000001", "0")]
    [InlineData("1e3", "1000")]
    [InlineData("19236.42", "19236.42")]
    [InlineData("0e99999999999", "0")]
    [InlineData("0e2147483647", "0")]
    [InlineData("-0.0E+99999999999999999999", "0")]
    [InlineData("1e-99999999999", "0")]
    [InlineData("0.0001e19", "1000000000000000")]
    [InlineData("10000000000000000e-1", "1000000000000000")]
    public void Amounts_from_0_to_10_to_the_15_are_read_exactly(string json, string expected)
    {
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(Order.Replace("\"amount\":5", $"\"amount\":{json}", StringComparison.Ordinal)), parsed, out _));
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), parsed.Amount);
    }

    [Theory]
    [InlineData("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z")]
    [InlineData("2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.500Z")]
    [InlineData("2026-01-01T00:00:00.12Z", "2026-01-01T00:00:00.120Z")]
    [InlineData("2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123Z")]
    [InlineData("2026-01-01T00:00:00.123999Z", "2026-01-01T00:00:00.123Z")]
    [InlineData("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.000Z")]
    [InlineData("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z")]
    public void Times_are_read_to_the_millisecond(string json, string expected)
    {
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(Order.Replace("2026-01-01T00:00:00Z", json, StringComparison.Ordinal)), parsed, out _));
        Assert.Equal(expected, EventTime.Format(parsed.OccurredAt));
    }

    [Fact]
    public void Escaped_ids_are_unescaped_and_unknown_fields_ignored()
    {
        var line = """{"x-trace":{"a":[1,2]},"type":"product-viewed","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b\u00e9\"1","sellerId":"s1","productId":"p","categoryId":"c","quantity":2}""";

        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(line), parsed, out _));
        Assert.Equal("bé\"1", Encoding.UTF8.GetString(parsed.BuyerId));
        Assert.Equal(EventKind.ProductViewed, parsed.Kind);
    }

    [Theory]
    [InlineData("product-viewed", "\"amount\":\"12\"")]
    [InlineData("product-viewed", "\"orderId\":\"\"")]
    [InlineData("product-viewed", "\"items\":[{\"productId\":7}],\"items\":3")]
    [InlineData("favorite-added", "\"quantity\":-1")]
    [InlineData("cart-item-added", "\"currency\":5")]
    [InlineData("order-paid", "\"productId\":5,\"categoryId\":\"\",\"quantity\":\"two\"")]
    public void A_field_its_event_type_does_not_have_is_ignored_whatever_its_value(string type, string foreign)
    {
        var line = (type == "order-paid" ? Order : View.Replace("product-viewed", type, StringComparison.Ordinal))
            .Replace("{", "{" + foreign + ",", StringComparison.Ordinal);

        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(line), parsed, out var rejection), $"{rejection.Message}: {line}");
        Assert.Equal(type, parsed.Kind.ToWireName());
    }

    [Theory]
    [InlineData("\"amount\":\"12\"", RejectReason.WrongType, "amount")]
    [InlineData("\"items\":[{\"productId\":7}]", RejectReason.WrongType, "items[].productId")]
    [InlineData("\"amount\":1", RejectReason.DuplicateField, "amount")]
    public void A_bad_field_of_the_events_own_type_is_rejected_even_before_the_type_is_read(string field, RejectReason reason, string name) =>
        AssertRejected("{" + field + "," + Order[1..], reason, name);

    [Theory]
    [InlineData("buyerId")]
    [InlineData("sellerId")]
    [InlineData("items[].categoryId")]
    public void A_stored_id_longer_than_16_KiB_is_rejected_and_one_of_exactly_16_KiB_is_read(string field)
    {
        string With(int length)
        {
            var id = new string('x', length);
            return field switch
            {
                "buyerId" => Order.Replace("\"b1\"", $"\"{id}\"", StringComparison.Ordinal),
                "sellerId" => Order.Replace("\"s1\"", $"\"{id}\"", StringComparison.Ordinal),
                _ => Order.Replace("\"amount\":5", $"\"amount\":5,\"items\":[{{\"productId\":\"p\",\"categoryId\":\"{id}\"}}]", StringComparison.Ordinal),
            };
        }

        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(With(EventParser.MaxStoredIdBytes)), parsed, out var rejection), rejection.Message);
        AssertRejected(With(EventParser.MaxStoredIdBytes + 1), RejectReason.IdTooLong, field);
    }

    [Fact]
    public void A_leading_byte_order_mark_is_ignored()
    {
        var withMark = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(Order)).ToArray();
        Assert.True(parser.TryParse(withMark, parsed, out var rejection), rejection.Message);
        Assert.Equal(EventKind.OrderPaid, parsed.Kind);
    }

    [Fact]
    public void Order_items_carry_their_categories()
    {
        var sellers = new SymbolTable();
        var categories = new SymbolTable();
        var p = new EventParser(sellers, categories);
        var line = Order.Replace("\"amount\":5", "\"amount\":5,\"currency\":\"RUB\",\"items\":[{\"productId\":\"p1\",\"categoryId\":\"c1\",\"quantity\":1,\"price\":2.5},{\"productId\":\"p2\",\"categoryId\":\"c2\"}]", StringComparison.Ordinal);

        Assert.True(p.TryParse(Encoding.UTF8.GetBytes(line), parsed, out _));
        Assert.Equal(["c1", "c2"], parsed.ItemCategories.ToArray().Select(categories.TextOf));
    }

    [Theory]
    [InlineData("2")]
    [InlineData("2.0")]
    [InlineData("2e0")]
    public void Whole_quantities_are_read_however_they_are_written(string quantity)
    {
        var line = Order.Replace("\"amount\":5", $"\"amount\":5,\"items\":[{{\"productId\":\"p\",\"categoryId\":\"c\",\"quantity\":{quantity}}}]", StringComparison.Ordinal);
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(line), parsed, out var rejection), rejection.Message);
    }

    private void AssertRejected(string line, RejectReason reason, string? field)
    {
        Assert.False(parser.TryParse(Encoding.UTF8.GetBytes(line), parsed, out var rejection), $"accepted: {line}");
        Assert.Equal(reason, rejection.Reason);
        if (field is not null)
        {
            Assert.EndsWith(field, rejection.Field ?? string.Empty, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
    }

    private static string Without(string json, string field)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var kept = doc.RootElement.EnumerateObject().Where(p => p.Name != field).Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}");
        return "{" + string.Join(",", kept) + "}";
    }
}
