using System.ComponentModel.DataAnnotations;
using StreamSegments.Core.Time;

namespace StreamSegments.Worker.Replay;

/// <summary>The <c>replay</c> verb's options (section <c>Replay</c>; the command-line switches map onto it).</summary>
public sealed class ReplayOptions : IValidatableObject
{
    public const string SectionName = "Replay";

    /// <summary>JSON lines, the values that travel on the input topics, processed in file order.</summary>
    [Required]
    public string Input { get; set; } = string.Empty;

    /// <summary>RFC 3339 UTC: events after it are not applied; at the end the clock advances to it.</summary>
    [Required]
    public string AsOf { get; set; } = string.Empty;

    [Required]
    public string Snapshot { get; set; } = string.Empty;

    [Required]
    public string Changes { get; set; } = string.Empty;

    [Required]
    public string CategoryChanges { get; set; } = string.Empty;

    /// <summary>Optional: one line per invalid input line (line number, reason code, message).</summary>
    public string? Rejects { get; set; }

    /// <summary>
    /// Optional: where the FASTER store and its checkpoints live. When set, the run checkpoints every
    /// <see cref="CheckpointEvery"/> lines and a later run with the same directory resumes from the newest
    /// checkpoint. When not set, a temporary directory is used and removed at the end.
    /// </summary>
    public string? StateDirectory { get; set; }

    [Range(1_000, int.MaxValue)]
    public int CheckpointEvery { get; set; } = 1_000_000;

    public long AsOfInstant() => EventTime.Parse(AsOf);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(AsOf) && !EventTime.TryParse(AsOf, out _))
        {
            yield return new ValidationResult($"--as-of '{AsOf}' is not an RFC 3339 UTC instant.", [nameof(AsOf)]);
        }

        if (!string.IsNullOrEmpty(Input) && !File.Exists(Input))
        {
            yield return new ValidationResult($"--input '{Input}' does not exist.", [nameof(Input)]);
        }

        // Outputs are cut to their checkpointed length at start: one on the input would wipe it out, and two on one
        // file would interleave.
        (string Switch, string? Path)[] files =
            [("--input", Input), ("--snapshot", Snapshot), ("--changes", Changes), ("--category-changes", CategoryChanges), ("--rejects", Rejects)];
        foreach (var same in files.Where(f => !string.IsNullOrEmpty(f.Path)).GroupBy(f => FileIdentity(f.Path!)).Where(g => g.Count() > 1))
        {
            yield return new ValidationResult(
                $"{string.Join(" and ", same.Select(f => f.Switch))} name the same file '{same.Key}': every output needs a file of its own, apart from the input.",
                [nameof(Input)]);
        }
    }

    /// <summary>A file's full path, through symbolic links.</summary>
    private static string FileIdentity(string path)
    {
        var full = Path.GetFullPath(path);
        return File.Exists(full) && new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true) is { } target ? target.FullName : full;
    }
}
