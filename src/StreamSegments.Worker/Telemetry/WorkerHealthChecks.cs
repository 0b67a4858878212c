using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamSegments.Worker.Run;

namespace StreamSegments.Worker.Telemetry;

/// <summary>
/// Liveness: the processing loop is running and going round. A restart is the cure for a loop that stopped or
/// hangs; a restore that makes progress, however long, never fails it, and one that makes none gets
/// <see cref="TelemetryOptions.RestoreLivenessTimeoutSeconds"/> (FASTER's recovery reports no progress).
/// </summary>
public sealed class WorkerLivenessCheck(SegmentWorkerService worker, IOptions<TelemetryOptions> options) : IHealthCheck
{
    public const string Tag = "live";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.Processor is not { } processor
            ? HealthCheckResult.Healthy("starting")
            : Verdict(worker.Failed, processor.Status.IsRestoring, processor.Status.SilentFor, options.Value));

    /// <summary>The probe's answer for a loop that last made progress <paramref name="silentFor"/> ago.</summary>
    public static HealthCheckResult Verdict(bool failed, bool restoring, TimeSpan silentFor, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (failed)
        {
            return HealthCheckResult.Unhealthy("the processing loop stopped on an error");
        }

        var silent = silentFor.TotalSeconds > SilenceLimitSeconds(restoring, options);
        if (restoring)
        {
            return silent
                ? HealthCheckResult.Unhealthy($"a restore has made no progress for {silentFor.TotalSeconds:F0} s")
                : HealthCheckResult.Healthy("restoring");
        }

        return silent
            ? HealthCheckResult.Unhealthy($"the processing loop has made no progress for {silentFor.TotalSeconds:F0} s")
            : HealthCheckResult.Healthy();
    }

    /// <summary>How long the loop may make no progress before the probe fails: longer while a task restores.</summary>
    public static int SilenceLimitSeconds(bool restoring, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return restoring ? options.RestoreLivenessTimeoutSeconds : options.LivenessTimeoutSeconds;
    }
}

/// <summary>
/// Readiness: the producer is initialised, the group has assigned this instance its tasks, and every one has restored.
/// <c>/health/ready</c> also runs <see cref="WorkerLivenessCheck"/>: a stopped or hung loop is not ready either.
/// </summary>
public sealed class WorkerReadinessCheck(SegmentWorkerService worker) : IHealthCheck
{
    public const string Tag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.Processor is { Status.IsReady: true }
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("joining the group or restoring tasks"));
}
