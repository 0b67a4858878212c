using System.Runtime.InteropServices;

namespace StreamSegments.Core.Rules;

/// <summary>
/// An exact sum of non-negative decimals: whole units plus a fraction in units of 10^-28 (the finest a decimal has).
/// A decimal sum rounds to 28-29 significant digits, and amounts up to 10^15 with fractions down to 10^-28 can need
/// over 40; the average order value's thresholds must see the exact total.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct ExactAmount
{
    private static readonly UInt128 FractionUnit = UInt128.Parse("10000000000000000000000000000", System.Globalization.CultureInfo.InvariantCulture); // 10^28

    private Int128 whole;
    private UInt128 fraction;

    public void Add(decimal value)
    {
        var (w, f) = Split(value);
        whole += w;
        fraction += f;
        if (fraction >= FractionUnit)
        {
            whole += (Int128)(fraction / FractionUnit);
            fraction %= FractionUnit;
        }
    }

    /// <summary>Whether this sum is at least <paramref name="threshold"/> times <paramref name="count"/>, exactly.</summary>
    public readonly bool AtLeast(decimal threshold, int count)
    {
        var (w, f) = Split(threshold);
        var otherFraction = f * (UInt128)(uint)count;
        var otherWhole = (w * count) + (Int128)(otherFraction / FractionUnit);
        otherFraction %= FractionUnit;
        return whole != otherWhole ? whole > otherWhole : fraction >= otherFraction;
    }

    private static (Int128 Whole, UInt128 Fraction) Split(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        var scale = (bits[3] >> 16) & 0xFF;
        var power = UInt128.One;
        for (var i = 0; i < scale; i++)
        {
            power *= 10;
        }

        var fractionDigits = mantissa % power;
        for (var i = scale; i < 28; i++)
        {
            fractionDigits *= 10;
        }

        // Amounts and thresholds are never negative (validated); a negative zero is zero.
        return ((Int128)(mantissa / power), fractionDigits);
    }
}
