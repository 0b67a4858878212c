using System.IO.Hashing;
using System.Text;
using StreamSegments.Worker.Replay;

namespace StreamSegments.Worker.Tests.Replay;

public sealed class LineReaderTests
{
    [Theory]
    [InlineData("a\n{0}\nz\n", "a|oversized|z")]
    [InlineData("a\r\n{0}\r\nz", "a|oversized|z")]
    [InlineData("a\nz\n{0}", "a|z|oversized")]
    public void A_line_over_the_limit_is_reported_oversized_even_when_it_fits_the_buffer(string layout, string expected)
    {
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, layout, new string('x', 500));
        var lines = ReadAll(Encoding.ASCII.GetBytes(text), maxLineBytes: 100);

        Assert.Equal(expected, string.Join('|', lines.Select(l => l.Text ?? "oversized")));
        Assert.Equal(text.Length, lines[^1].NextOffset);
    }

    [Fact]
    public void The_hash_covers_exactly_the_bytes_before_the_next_line_skipped_ones_and_a_resumed_start_included()
    {
        var text = "first\n" + new string('x', 300) + "\nthird\r\nlast";
        var bytes = Encoding.ASCII.GetBytes(text);
        using (var reader = new LineReader(new MemoryStream(bytes), maxLineBytes: 100))
        {
            while (reader.TryReadLine(out _, out _))
            {
                Assert.Equal(XxHash64.HashToUInt64(bytes.AsSpan(0, (int)reader.NextOffset)), reader.ConsumedHash);
            }

            Assert.Equal(XxHash64.HashToUInt64(bytes), reader.ConsumedHash);
        }

        var third = text.IndexOf("third", StringComparison.Ordinal);
        using var resumed = new LineReader(new MemoryStream(bytes), maxLineBytes: 100, startOffset: third, startLine: 2);
        Assert.Equal(XxHash64.HashToUInt64(bytes.AsSpan(0, third)), resumed.ConsumedHash);
        Assert.True(resumed.TryReadLine(out var line, out _));
        Assert.Equal("third", Encoding.ASCII.GetString(line));
        Assert.Equal(3, resumed.LineNumber);
    }

    private static List<(string? Text, long NextOffset)> ReadAll(byte[] bytes, int maxLineBytes)
    {
        var lines = new List<(string?, long)>();
        using var reader = new LineReader(new MemoryStream(bytes), maxLineBytes);
        while (reader.TryReadLine(out var line, out var oversized))
        {
            lines.Add((oversized ? null : Encoding.ASCII.GetString(line), reader.NextOffset));
        }

        return lines;
    }
}
