using System.Text.Json;
using StreamSegments.Core.Events;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Worker.Generate;

namespace StreamSegments.Worker.Tests.Generate;

public class TrafficGeneratorTests
{
    private static readonly GeneratorOptions Options = new()
    {
        Events = 20_000,
        Buyers = 2_000,
        Sellers = 30,
        Categories = 10,
        Days = 200,
        Seed = 3,
        DuplicateRate = 0.02,
        InvalidRate = 0.01,
    };

    [Fact]
    public void Writes_the_requested_lines_valid_ones_in_time_order_with_the_requested_duplicate_and_invalid_shares()
    {
        var lines = Generate(Options);

        Assert.Equal(Options.Events, lines.Count);
        var parser = new EventParser(new SymbolTable(), new SymbolTable());
        var parsed = new BuyerEvent();
        var invalid = 0;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = 0;
        var previous = long.MinValue;
        var outOfOrder = 0;
        foreach (var line in lines)
        {
            if (!parser.TryParse(System.Text.Encoding.UTF8.GetBytes(line), parsed, out _))
            {
                invalid++;
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            if (!ids.Add(doc.RootElement.GetProperty("eventId").GetString()!))
            {
                duplicates++;
            }
            else if (parsed.OccurredAt < previous)
            {
                outOfOrder++;
            }

            previous = Math.Max(previous, parsed.OccurredAt);
        }

        Assert.InRange(invalid, 100, 300);
        Assert.InRange(duplicates, 200, 600);
        Assert.Equal(0, outOfOrder);
        Assert.Equal(EventTime.Parse("2025-06-01T00:00:00Z"), EventTime.Parse(JsonDocument.Parse(lines[0]).RootElement.GetProperty("occurredAt").GetString()!) / EventTime.Day * EventTime.Day);
    }

    [Fact]
    public void The_same_seed_gives_the_same_bytes_and_another_seed_does_not()
    {
        Assert.Equal(Generate(Options), Generate(Options));
        Assert.NotEqual(Generate(Options), Generate(new GeneratorOptions
        {
            Events = Options.Events, Buyers = Options.Buyers, Sellers = Options.Sellers, Categories = Options.Categories,
            Days = Options.Days, Seed = 4, DuplicateRate = Options.DuplicateRate, InvalidRate = Options.InvalidRate,
        }));
    }

    private static List<string> Generate(GeneratorOptions options)
    {
        using var stream = new MemoryStream();
        TrafficGenerator.Write(stream, options);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
