namespace StreamSegments.Core.Rules;

/// <summary>R, F and M scores (1 best, 3 worst); defined for every pair with at least one order in the window.</summary>
public readonly record struct RfmScore(byte Recency, byte Frequency, byte Monetary)
{
    public bool IsDefined => Recency != 0;

    public int Sum => Recency + Frequency + Monetary;

    /// <summary>Writes <c>R{r}F{f}M{m}</c> (6 bytes).</summary>
    public int Format(Span<byte> destination)
    {
        destination[0] = (byte)'R';
        destination[1] = (byte)('0' + Recency);
        destination[2] = (byte)'F';
        destination[3] = (byte)('0' + Frequency);
        destination[4] = (byte)'M';
        destination[5] = (byte)('0' + Monetary);
        return 6;
    }

    public override string ToString() => IsDefined ? $"R{Recency}F{Frequency}M{Monetary}" : string.Empty;
}
