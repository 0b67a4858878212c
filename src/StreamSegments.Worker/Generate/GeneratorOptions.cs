using System.ComponentModel.DataAnnotations;

namespace StreamSegments.Worker.Generate;

/// <summary>The <c>generate</c> verb's options (section <c>Generate</c>): the size and shape of a synthetic marketplace.</summary>
public sealed class GeneratorOptions : IValidatableObject
{
    public const string SectionName = "Generate";

    /// <summary>Where to write the JSON lines; "-" for standard output.</summary>
    [Required]
    public string Output { get; set; } = "-";

    [Range(1, long.MaxValue, ErrorMessage = "The field {0} must be at least {1}.")]
    public long Events { get; set; } = 5_000_000;

    [Range(1, int.MaxValue)]
    public int Buyers { get; set; } = 1_000_000;

    [Range(1, 1_000_000)]
    public int Sellers { get; set; } = 500;

    [Range(1, 100_000)]
    public int Categories { get; set; } = 60;

    /// <summary>First event time; events spread evenly (with jitter) over <see cref="Days"/>.</summary>
    public DateTimeOffset Start { get; set; } = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Range(1, 3650)]
    public int Days { get; set; } = 500;

    public int Seed { get; set; } = 42;

    /// <summary>Share of lines that re-send an earlier event (same id, or the same order under a new id).</summary>
    [Range(0.0, 0.5)]
    public double DuplicateRate { get; set; } = 0.01;

    /// <summary>Share of lines that are invalid in one of several ways (to exercise rejects).</summary>
    [Range(0.0, 0.5)]
    public double InvalidRate { get; set; } = 0.001;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Event times are Unix milliseconds written as RFC 3339: from the epoch to the year 9999.
        if (Start < DateTimeOffset.UnixEpoch || Start > DateTimeOffset.MaxValue.AddDays(-(Days + 1)))
        {
            yield return new ValidationResult(
                $"--start {Start:O} is out of range: events from it to --days ({Days}) later must fall between 1970 and the year 9999.", [nameof(Start)]);
        }
    }
}
