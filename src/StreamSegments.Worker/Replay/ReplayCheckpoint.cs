using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamSegments.Worker.Replay;

/// <summary>
/// What a replay needs to resume exactly where its state checkpoint was taken: the input position, the
/// clock, the counters, and the length of each output file at that moment. Stored as the FASTER checkpoint's
/// cookie, so state and positions can never disagree.
/// </summary>
public sealed record ReplayCheckpoint
{
    public required string Input { get; init; }

    public required string AsOf { get; init; }

    public required string Policy { get; init; }

    public required long InputOffset { get; init; }

    /// <summary>
    /// XxHash64 (hex) of the input's bytes before <see cref="InputOffset"/>: a resumed run refuses an input whose
    /// replayed part changed since. Null in checkpoints written before it was recorded.
    /// </summary>
    public string? InputHash { get; init; }

    /// <summary>
    /// Set on the checkpoint taken at the end of the run, after the clock reached as-of: lines appended to the
    /// input since would be applied late, so such a run is not resumed over a longer input.
    /// </summary>
    public bool Completed { get; init; }

    public required long Line { get; init; }

    public required long Clock { get; init; }

    /// <summary>
    /// Full paths of the outputs the checkpointed lengths are of (changes, category changes, rejects; the last null when none was asked for);
    /// a resumed run must write the same files. Null in checkpoints written before they were recorded.
    /// </summary>
    public string?[]? Outputs { get; init; }

    public required long ChangesLength { get; init; }

    public required long CategoryChangesLength { get; init; }

    public required long RejectsLength { get; init; }

    public required ReplayCounters Counters { get; init; }

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, ReplayJsonContext.Default.ReplayCheckpoint);

    public static ReplayCheckpoint Deserialize(byte[] cookie) =>
        JsonSerializer.Deserialize(cookie, ReplayJsonContext.Default.ReplayCheckpoint)
        ?? throw new InvalidDataException("The replay checkpoint cookie is empty.");
}

/// <summary>Totals of a replay, carried across checkpoints so a resumed run reports the whole input.</summary>
public sealed record ReplayCounters
{
    public long Lines { get; set; }

    public long Rejected { get; set; }

    public long AfterAsOf { get; set; }

    public long SnapshotRows { get; set; }

    /// <summary>The task's own counters; the resumed task keeps counting in this same instance.</summary>
    public Core.Processing.TaskCounters Task { get; init; } = new();
}

[JsonSerializable(typeof(ReplayCheckpoint))]
[JsonSerializable(typeof(Core.Policy.SegmentPolicy))]
internal sealed partial class ReplayJsonContext : JsonSerializerContext;
