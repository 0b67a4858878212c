using NJsonSchema;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Schemas;

/// <summary>The JSON Schemas in schemas/ describe what actually travels: the fixture's inputs and the replay's outputs.</summary>
public sealed class SchemaTests : IDisposable
{
    private readonly string fixture = RepoPaths.Fixture("scenario-small");
    private readonly ReplayScenario scenario;

    public SchemaTests()
    {
        scenario = new ReplayScenario(Path.Combine(fixture, "events.jsonl"), File.ReadAllText(Path.Combine(fixture, "as-of.txt")).Trim());
    }

    public void Dispose() => scenario.Dispose();

    [Fact]
    public async Task Every_valid_fixture_event_matches_the_buyer_event_schema_and_every_bad_one_does_not()
    {
        var schema = await Load("events/buyer-event.schema.json");
        var lines = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var good = 0;
        foreach (var line in lines)
        {
            var isBad = line.Contains("\"bad-", StringComparison.Ordinal);
            if (isBad && !LooksLikeJson(line))
            {
                continue;
            }

            var errors = schema.Validate(line);
            if (isBad)
            {
                Assert.True(errors.Count > 0, $"the schema accepts a line the contract rejects: {line}");
            }
            else
            {
                Assert.True(errors.Count == 0, $"{line}: {string.Join("; ", errors)}");
                good++;
            }
        }

        Assert.True(good > 1_000);
    }

    [Theory]
    [InlineData("""{"type":"order-paid","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","orderId":"o","amount":"5"}""")]
    [InlineData("""{"type":"order-paid","eventId":"e","occurredAt":"2026-01-01T00:00:00+03:00","buyerId":"b","sellerId":"s","orderId":"o","amount":5}""")]
    [InlineData("""{"type":"order-paid","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","orderId":"o","amount":1000000000000001}""")]
    [InlineData("""{"type":"product-viewed","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","productId":"p"}""")]
    [InlineData("""{"type":"cart-item-added","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","productId":"p","categoryId":"c","quantity":-1}""")]
    [InlineData("""{"type":"order-paid","eventId":"e","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","orderId":"o","amount":5,"items":[{"productId":"p"}]}""")]
    public async Task The_buyer_event_schema_rejects_what_the_parser_rejects(string line)
    {
        var schema = await Load("events/buyer-event.schema.json");
        var parser = new Core.Events.EventParser(new Core.State.SymbolTable(), new Core.State.SymbolTable());

        Assert.False(parser.TryParse(System.Text.Encoding.UTF8.GetBytes(line), new Core.Events.BuyerEvent(), out _));
        Assert.NotEmpty(schema.Validate(line));
    }

    [Fact]
    public async Task Every_line_the_replay_writes_matches_its_output_schema()
    {
        await scenario.RunAsync();

        foreach (var (output, schemaFile) in new[]
        {
            ("changes.jsonl", "outputs/segment-change.schema.json"),
            ("category-changes.jsonl", "outputs/category-interest-change.schema.json"),
            ("snapshot.jsonl", "outputs/snapshot-row.schema.json"),
            ("rejects.jsonl", "outputs/reject.schema.json"),
        })
        {
            var schema = await Load(schemaFile);
            var lines = File.ReadAllLines(scenario.Output(output));
            Assert.NotEmpty(lines);
            foreach (var line in lines)
            {
                var errors = schema.Validate(line);
                Assert.True(errors.Count == 0, $"{output}: {line}: {string.Join("; ", errors)}");
            }
        }
    }

    [Fact]
    public async Task Every_change_the_replay_writes_names_the_pairs_last_order_ever_whenever_it_has_one()
    {
        await scenario.RunAsync();

        // A change into sleeping has no order in the window, but always the one it sleeps on.
        var changes = File.ReadAllLines(scenario.Output("changes.jsonl")).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement).ToList();
        var sleeping = changes.Where(c => c.GetProperty("to").ValueKind == System.Text.Json.JsonValueKind.String && c.GetProperty("to").GetString() == "sleeping").ToList();
        Assert.NotEmpty(sleeping);
        Assert.All(sleeping, c =>
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Null, c.GetProperty("lastOrderAt").ValueKind);
            Assert.True(string.CompareOrdinal(c.GetProperty("lastOrderEverAt").GetString(), c.GetProperty("effectiveAt").GetString()) < 0);
        });

        // With an order in the window, the last ever is the latest in the window.
        Assert.All(changes.Where(c => c.GetProperty("lastOrderAt").ValueKind == System.Text.Json.JsonValueKind.String), c =>
            Assert.Equal(c.GetProperty("lastOrderAt").GetString(), c.GetProperty("lastOrderEverAt").GetString()));
    }

    [Fact]
    public async Task A_seller_category_fact_as_the_worker_writes_it_matches_its_schema()
    {
        var schema = await Load("outputs/seller-category.schema.json");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            Core.Serialization.ChangeMessages.WriteSellerCategory(writer, "s-1"u8, "c \"quoted\""u8, Core.Time.EventTime.Parse("2026-01-01T00:00:00Z"));
        }

        var row = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Empty(schema.Validate(row));
        Assert.Contains("\"learnedAt\":\"2026-01-01T00:00:00.000Z\"", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restated_pair_and_interest_as_the_worker_writes_them_to_its_tables_match_their_schemas()
    {
        var at = Core.Time.EventTime.Parse("2026-01-01T00:00:00Z");
        var pair = Row(writer => Core.Serialization.ChangeMessages.WriteSegmentChange(writer, new Core.Processing.SegmentChange
        {
            SellerId = "s-1"u8,
            BuyerId = "b-1"u8,
            From = Core.Rules.Segment.New,
            To = Core.Rules.Segment.New,
            EffectiveAt = at,
            Cause = Core.Rules.ChangeCause.Restated,
            Measures = new Core.Rules.PairEvaluation(Core.Rules.Segment.New, new Core.Rules.RfmScore(1, 3, 3), 1, 10m, at - 1, at - 1, false),
        }));
        var interest = Row(writer => Core.Serialization.ChangeMessages.WriteCategoryInterestChange(writer, new Core.Processing.CategoryInterestChange
        {
            CategoryId = "c-1"u8,
            BuyerId = "b-1"u8,
            Entered = true,
            EffectiveAt = at,
            Cause = Core.Rules.ChangeCause.Restated,
        }));

        Assert.Empty((await Load("outputs/segment-change.schema.json")).Validate(pair));
        Assert.Empty((await Load("outputs/category-interest-change.schema.json")).Validate(interest));
        Assert.Contains("\"from\":\"new\",\"to\":\"new\"", pair, StringComparison.Ordinal);
        Assert.Contains("\"cause\":\"restated\"", interest, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("outputs/seller-category.schema.json", """{"eventId":"0123456789abcdef0123456789abcdef","sellerId":"s","categoryId":"","learnedAt":"2026-01-01T00:00:00.000Z"}""")]
    [InlineData("outputs/segment-change.schema.json", """{"eventId":"0123456789abcdef0123456789abcdef","sellerId":"s","buyerId":"b","from":null,"to":"new","effectiveAt":"2026-01-01T00:00:00.000Z","cause":"event","rfm":"R4F1M1","orders":1,"amount":5,"lastOrderAt":"2026-01-01T00:00:00.000Z"}""")]
    [InlineData("outputs/segment-change.schema.json", """{"eventId":"0123456789abcdef0123456789abcdef","sellerId":"s","buyerId":"b","from":null,"to":"interested-categories","effectiveAt":"2026-01-01T00:00:00.000Z","cause":"event","rfm":null,"orders":0,"amount":0,"lastOrderAt":null}""")]
    [InlineData("outputs/category-interest-change.schema.json", """{"eventId":"0123456789abcdef0123456789abcdef","categoryId":"c","buyerId":"b","change":"entered","cause":"event"}""")]
    [InlineData("outputs/snapshot-row.schema.json", """{"sellerId":"s","buyerId":"b","segment":"vip","rfm":null}""")]
    [InlineData("outputs/reject.schema.json", """{"line":0,"reason":"malformed-json","message":"x"}""")]
    public async Task Output_schemas_reject_malformed_rows(string schemaFile, string row)
    {
        var schema = await Load(schemaFile);

        Assert.NotEmpty(schema.Validate(row));
    }

    private static string Row(Action<System.Text.Json.Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Task<JsonSchema> Load(string relative) => JsonSchema.FromFileAsync(Path.Combine(RepoPaths.Root, "schemas", relative));

    private static bool LooksLikeJson(string line)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
