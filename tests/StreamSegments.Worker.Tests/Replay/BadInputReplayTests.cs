using System.Text;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Replay;

/// <summary>Invalid lines are rejected with their reason and change nothing else; the run goes on.</summary>
public sealed class BadInputReplayTests : IDisposable
{
    private const string AsOf = "2026-10-15T12:00:00.000Z";
    private const string Valid = """{"type":"order-paid","eventId":"x","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b","sellerId":"s","orderId":"o","amount":5}""";

    private static readonly (string Line, string Reason)[] BadLines =
    [
        ("""{"type":"order-paid",""", "malformed-json"),
        ("""[1,2,3]""", "not-an-object"),
        ("""  "just a string" """, "not-an-object"),
        ("""{"type":"order-paid","eventId":"x1"} trailing""", "malformed-json"),
        (Valid.Replace("\"orderId\":\"o\",", "", StringComparison.Ordinal), "missing-field"),
        (Valid.Replace("\"buyerId\":\"b\"", "\"buyerId\":\"\"", StringComparison.Ordinal), "empty-field"),
        (Valid.Replace("\"amount\":5", "\"amount\":\"5\"", StringComparison.Ordinal), "wrong-type"),
        (Valid.Replace("\"amount\":5", "\"amount\":true", StringComparison.Ordinal), "wrong-type"),
        (Valid.Replace("\"amount\":5", "\"amount\":-0.01", StringComparison.Ordinal), "out-of-range"),
        (Valid.Replace("\"amount\":5", "\"amount\":1000000000000000.01", StringComparison.Ordinal), "out-of-range"),
        (Valid.Replace("2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z", StringComparison.Ordinal), "invalid-time"),
        (Valid.Replace("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+03:00", StringComparison.Ordinal), "invalid-time"),
        (Valid.Replace("order-paid", "order-refunded", StringComparison.Ordinal), "unknown-type"),
        ("{\"type\":\"product-viewed\",\"pad\":\"" + new string('x', (1 << 20) + 10) + "\"}", "too-large"),
        ("", "malformed-json"),
    ];

    private readonly string fixture = RepoPaths.Fixture("scenario-small");
    private readonly string work = Path.Combine(Path.GetTempPath(), $"ss-bad-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Bad_lines_between_good_ones_are_rejected_with_reasons_and_change_no_output()
    {
        var good = File.ReadAllLines(Path.Combine(fixture, "events.jsonl"));
        var mixed = new List<byte[]>();
        var expectedRejects = new List<string>();
        var cleanRejects = new List<int>();
        var bad = 0;
        for (var i = 0; i < good.Length; i++)
        {
            if (i % 100 == 50 && bad < BadLines.Length + 2)
            {
                var (bytes, reason) = bad < BadLines.Length
                    ? (Encoding.UTF8.GetBytes(BadLines[bad].Line), BadLines[bad].Reason)
                    : bad == BadLines.Length ? (BinaryGarbage(), "malformed-json") : (InvalidUtf8Id(), "invalid-utf8");
                mixed.Add(bytes);
                expectedRejects.Add($"{mixed.Count}|{reason}");
                bad++;
            }

            mixed.Add(Encoding.UTF8.GetBytes(good[i]));
            if (good[i].Contains("\"bad-", StringComparison.Ordinal))
            {
                cleanRejects.Add(mixed.Count);
            }
        }

        Assert.Equal(BadLines.Length + 2, bad);
        var input = Path.Combine(work, "mixed.jsonl");
        Directory.CreateDirectory(work);
        await using (var file = File.Create(input))
        {
            foreach (var line in mixed)
            {
                file.Write(line);
                file.WriteByte((byte)'\n');
            }
        }

        using var clean = new ReplayScenario(Path.Combine(fixture, "events.jsonl"), AsOf);
        using var dirty = new ReplayScenario(input, AsOf);
        await clean.RunAsync();
        var counters = await dirty.RunAsync();

        var rejected = dirty.Rows("rejects.jsonl", "line", "reason")
            .Where(r => !cleanRejects.Contains(int.Parse(r.Split('|')[0], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(expectedRejects.Order(StringComparer.Ordinal), rejected);
        Assert.Equal(bad + cleanRejects.Count, counters.Rejected);
        foreach (var (name, fields) in new[]
        {
            ("changes.jsonl", new[] { "sellerId", "buyerId", "from", "to", "effectiveAt", "eventId" }),
            ("category-changes.jsonl", new[] { "categoryId", "buyerId", "change", "effectiveAt", "eventId" }),
            ("snapshot.jsonl", new[] { "sellerId", "buyerId", "segment", "rfm" }),
        })
        {
            Assert.Equal(clean.Rows(name, fields), dirty.Rows(name, fields));
        }
    }

    private static byte[] BinaryGarbage()
    {
        var random = new Random(42);
        var bytes = new byte[200];
        random.NextBytes(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n')
            {
                bytes[i] = 0;
            }
        }

        bytes[0] = 0xFF;
        return bytes;
    }

    private static byte[] InvalidUtf8Id()
    {
        // A JSON string with an escaped lone surrogate decodes to invalid UTF-8: the id cannot be stored as text.
        return Encoding.UTF8.GetBytes(Valid.Replace("\"buyerId\":\"b\"", "\"buyerId\":\"b\\ud800\"", StringComparison.Ordinal));
    }
}
