using System.ComponentModel.DataAnnotations;

namespace StreamSegments.Core.Policy;

/// <summary>
/// The thresholds of the segment rules (shared/segment-rules.md). Defaults are the contract's; the
/// definitions (what is counted, where windows start and end, which segment wins) are fixed in code.
/// Bound from configuration section <c>Policy</c>.
/// </summary>
public sealed class SegmentPolicy : IValidatableObject
{
    public const string SectionName = "Policy";

    /// <summary>Rolling window in days: an event at t is in the window at T iff T - window &lt; t &lt;= T.</summary>
    [Range(1, 3650)]
    public int WindowDays { get; set; } = 90;

    /// <summary>A past buyer stays sleeping while T - lastOrderEver &lt; horizon.</summary>
    [Range(1, 36500)]
    public int SleepingHorizonDays { get; set; } = 365;

    /// <summary>R = 1 when recency days &lt; this.</summary>
    [Range(1, 36500)]
    public int RecencyScore1BelowDays { get; set; } = 30;

    /// <summary>R = 2 when recency days &lt; this (and not R1); otherwise 3.</summary>
    [Range(1, 36500)]
    public int RecencyScore2BelowDays { get; set; } = 60;

    /// <summary>F = 1 when n &gt;= this.</summary>
    [Range(1, int.MaxValue)]
    public int FrequencyScore1AtLeast { get; set; } = 8;

    /// <summary>F = 2 when n &gt;= this (and not F1); otherwise 3.</summary>
    [Range(1, int.MaxValue)]
    public int FrequencyScore2AtLeast { get; set; } = 5;

    /// <summary>M = 1 when average order value &gt;= this.</summary>
    [Range(typeof(decimal), "0", "1000000000000000")]
    public decimal MonetaryScore1AtLeast { get; set; } = 5000m;

    /// <summary>M = 2 when average order value &gt;= this (and not M1); otherwise 3.</summary>
    [Range(typeof(decimal), "0", "1000000000000000")]
    public decimal MonetaryScore2AtLeast { get; set; } = 2000m;

    /// <summary>regular-top when r + f + m &lt;= this.</summary>
    [Range(3, 9)]
    public int TopScoreAtMost { get; set; } = 4;

    /// <summary>regular-loyal when r + f + m &lt;= this (and not top); otherwise regular-risky.</summary>
    [Range(3, 9)]
    public int LoyalScoreAtMost { get; set; } = 6;

    /// <summary>
    /// The most event ids one buyer remembers for recognising re-sent events (each is otherwise kept until its
    /// event leaves the window). A buyer's state is read and rewritten whole on every event, so a crawler, or an
    /// id shared by many people ("guest"), with hundreds of thousands of events in the window would make each of
    /// its events cost milliseconds and stall its task. Past the limit the oldest ids are forgotten: a re-send of
    /// such an event is applied again, which changes nothing when it is a true copy (its interaction time and
    /// categories are already counted, and an order is still recognised by its order id). 10,000 is over 100
    /// events a day for 90 days, never a person. Not a threshold: the fingerprint leaves it out.
    /// </summary>
    [Range(16, int.MaxValue)]
    public int MaxRememberedEventIds { get; set; } = 10_000;

    public long Window => WindowDays * Time.EventTime.Day;

    public long SleepingHorizon => SleepingHorizonDays * Time.EventTime.Day;

    public long RecencyScore1Below => RecencyScore1BelowDays * Time.EventTime.Day;

    public long RecencyScore2Below => RecencyScore2BelowDays * Time.EventTime.Day;

    /// <summary>How long a counted order's id is remembered to reject a re-sent order: as long as it can matter.</summary>
    public long OrderRetention => Math.Max(Window, SleepingHorizon);

    /// <summary>
    /// A hash of every threshold, never 0: state published under one policy and restored under another must be
    /// re-evaluated, and the worker's commit markers carry this to tell.
    /// </summary>
    public ulong Fingerprint()
    {
        var text = string.Join(
            ';',
            WindowDays, SleepingHorizonDays, RecencyScore1BelowDays, RecencyScore2BelowDays, FrequencyScore1AtLeast,
            FrequencyScore2AtLeast, MonetaryScore1AtLeast.ToString("G29", System.Globalization.CultureInfo.InvariantCulture),
            MonetaryScore2AtLeast.ToString("G29", System.Globalization.CultureInfo.InvariantCulture), TopScoreAtMost, LoyalScoreAtMost);
        return System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(text)) | 1;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RecencyScore2BelowDays <= RecencyScore1BelowDays)
        {
            yield return new ValidationResult("RecencyScore2BelowDays must be greater than RecencyScore1BelowDays.",
                [nameof(RecencyScore2BelowDays)]);
        }

        if (FrequencyScore1AtLeast <= FrequencyScore2AtLeast)
        {
            yield return new ValidationResult("FrequencyScore1AtLeast must be greater than FrequencyScore2AtLeast.",
                [nameof(FrequencyScore1AtLeast)]);
        }

        if (MonetaryScore1AtLeast <= MonetaryScore2AtLeast)
        {
            yield return new ValidationResult("MonetaryScore1AtLeast must be greater than MonetaryScore2AtLeast.",
                [nameof(MonetaryScore1AtLeast)]);
        }

        if (LoyalScoreAtMost < TopScoreAtMost)
        {
            yield return new ValidationResult("LoyalScoreAtMost must not be less than TopScoreAtMost.",
                [nameof(LoyalScoreAtMost)]);
        }
    }

    /// <summary>Throws with every broken constraint listed; used where options validation is not wired in.</summary>
    public SegmentPolicy Validated()
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true))
        {
            throw new ValidationException(string.Join("; ", results.Select(r => r.ErrorMessage)));
        }

        return this;
    }
}
