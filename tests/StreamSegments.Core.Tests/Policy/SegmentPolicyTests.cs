using StreamSegments.Core.Policy;

namespace StreamSegments.Core.Tests.Policy;

public sealed class SegmentPolicyTests
{
    [Fact]
    public void The_fingerprint_follows_every_threshold_and_nothing_else()
    {
        var defaults = new SegmentPolicy().Fingerprint();
        Assert.Equal(defaults, new SegmentPolicy().Fingerprint());
        Assert.NotEqual(0UL, defaults);

        SegmentPolicy[] changed =
        [
            new() { WindowDays = 60 },
            new() { SleepingHorizonDays = 300 },
            new() { RecencyScore1BelowDays = 20 },
            new() { RecencyScore2BelowDays = 70 },
            new() { FrequencyScore1AtLeast = 9 },
            new() { FrequencyScore2AtLeast = 4 },
            new() { MonetaryScore1AtLeast = 5000.01m },
            new() { MonetaryScore2AtLeast = 1999m },
            new() { TopScoreAtMost = 3 },
            new() { LoyalScoreAtMost = 7 },
        ];
        Assert.Equal(changed.Length, changed.Select(p => p.Fingerprint()).Append(defaults).Distinct().Count() - 1);

        // Not a threshold: no segment depends on it.
        Assert.Equal(defaults, new SegmentPolicy { MaxRememberedEventIds = 50 }.Fingerprint());

        // The same amount written with another scale is the same threshold.
        Assert.Equal(defaults, new SegmentPolicy { MonetaryScore1AtLeast = 5000.00m }.Fingerprint());
    }
}
