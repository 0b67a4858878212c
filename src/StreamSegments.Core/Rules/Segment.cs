namespace StreamSegments.Core.Rules;

/// <summary>A pair's direct segment, in precedence order, plus the seller-level interested-categories.</summary>
public enum Segment : byte
{
    None = 0,
    RegularTop = 1,
    RegularLoyal = 2,
    RegularRisky = 3,
    Returning = 4,
    New = 5,
    InterestedProducts = 6,
    Sleeping = 7,

    /// <summary>Resolved per seller on demand (snapshot, query); never carried on the pair change stream.</summary>
    InterestedCategories = 8,
}

public static class SegmentNames
{
    private static readonly byte[][] Utf8 =
    [
        [],
        "regular-top"u8.ToArray(),
        "regular-loyal"u8.ToArray(),
        "regular-risky"u8.ToArray(),
        "returning"u8.ToArray(),
        "new"u8.ToArray(),
        "interested-products"u8.ToArray(),
        "sleeping"u8.ToArray(),
        "interested-categories"u8.ToArray(),
    ];

    private static readonly string[] Text = Utf8.Select(b => System.Text.Encoding.UTF8.GetString(b)).ToArray();

    public static IReadOnlyList<Segment> All { get; } = Enum.GetValues<Segment>().Where(s => s != Segment.None).ToArray();

    /// <summary>The wire name; empty for <see cref="Segment.None"/> (written as JSON null).</summary>
    public static ReadOnlySpan<byte> ToUtf8(this Segment segment) => Utf8[(int)segment];

    public static string ToWireName(this Segment segment) => Text[(int)segment];

    public static bool TryParse(string? name, out Segment segment)
    {
        var index = Array.IndexOf(Text, name ?? string.Empty);
        segment = index < 0 ? Segment.None : (Segment)index;
        return index >= 0;
    }
}
