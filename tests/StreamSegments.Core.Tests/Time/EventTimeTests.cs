using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Time;

public class EventTimeTests
{
    [Fact]
    public void Formatting_agrees_with_the_framework_on_a_million_random_instants_and_the_edges()
    {
        var random = new Random(9);
        var min = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
        var max = new DateTimeOffset(9999, 12, 31, 23, 59, 59, 999, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var instants = Enumerable.Range(0, 1_000_000).Select(_ => random.NextInt64(min, max))
            .Concat([min, -1, 0, max, EventTime.Parse("1969-12-31T23:59:59.999Z"), EventTime.Parse("1900-03-01T00:00:00.000Z"),
                EventTime.Parse("2024-02-29T23:59:59.999Z"), EventTime.Parse("2100-03-01T00:00:00.000Z")]);
        foreach (var instant in instants)
        {
            var expected = DateTimeOffset.FromUnixTimeMilliseconds(instant).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var formatted = EventTime.Format(instant);
            Assert.Equal(expected, formatted);
            Assert.Equal(instant, EventTime.Parse(formatted));
        }
    }

    [Theory]
    [InlineData("2026-02-29T00:00:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("1900-02-29T00:00:00Z")]
    [InlineData("2026-1-01T00:00:00Z")]
    [InlineData("2026-01-01 00:00:00Z")]
    [InlineData("2026-01-01T00:00:00.Z")]
    [InlineData("2026-01-01T00:00:00.000Z\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9")] // 64 characters, 104 bytes
    public void Impossible_or_malformed_instants_do_not_parse(string text) => Assert.False(EventTime.TryParse(text, out _));

    [Theory]
    [InlineData("1969-12-31T23:59:59.999Z", -1L)]
    [InlineData("0001-01-01T00:00:00Z", -62_135_596_800_000L)]
    public void Instants_before_1970_are_valid_rfc_3339(string text, long expected)
    {
        Assert.True(EventTime.TryParse(text, out var instant));
        Assert.Equal(expected, instant);
    }
}
