using System.ComponentModel.DataAnnotations;

namespace StreamSegments.Worker.Run;

/// <summary>The <c>run</c> verb's own options (section <c>Run</c>); the worker's are <c>Kafka</c>, <c>State</c>, <c>Policy</c>.</summary>
public sealed class RunOptions
{
    public const string SectionName = "Run";

    /// <summary>Produce demo traffic; by default only when the embedded broker is used.</summary>
    public bool? Demo { get; set; }

    /// <summary>Print segment changes and per-segment counts to stdout; by default only when the embedded broker is used.</summary>
    public bool? PrintChanges { get; set; }

    /// <summary>Partitions per topic on the embedded broker.</summary>
    [Range(1, 64)]
    public int EmbeddedPartitions { get; set; } = 3;

    /// <summary>
    /// How long a stop may take: the last commit (each transaction call may wait 30 s for the broker), a checkpoint
    /// of every task, and leaving the group. The host's own default (30 s) would cut that short and exit 0 with a
    /// transaction still open. An orchestrator's grace period should be longer (docker-compose.kafka.yml).
    /// </summary>
    [Range(10, 3_600)]
    public int ShutdownTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Once the liveness probe has failed for this long (the loop stuck, e.g. in a storage call on a full disk, which
    /// FASTER never returns from), the worker logs what it was doing and stops with exit code 1, for supervisors
    /// that restart on exit but do not probe. 0 leaves it to the probe.
    /// </summary>
    [Range(0, 86_400)]
    public int StallExitSeconds { get; set; } = 240;
}
