using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StreamSegments.Worker.Run;

namespace StreamSegments.Worker.Telemetry;

/// <summary>
/// Liveness: the processing loop is running and going round. A restart is the cure for a loop that stopped or
/// hangs; a long restore still counts as progress, so a probe never kills a task that is catching up.
/// </summary>
public sealed class WorkerLivenessCheck(SegmentWorkerService worker, IOptions<TelemetryOptions> options) : IHealthCheck
{
    public const string Tag = "live";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (worker.Processor is not { } processor)
        {
            return Task.FromResult(HealthCheckResult.Healthy("starting"));
        }

        if (worker.Failed)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the processing loop stopped on an error"));
        }

        if (processor.IsRestoring)
        {
            return Task.FromResult(HealthCheckResult.Healthy("restoring"));
        }

        var silentFor = TimeSpan.FromMilliseconds(Environment.TickCount64 - processor.LastProgressTicks);
        return Task.FromResult(silentFor.TotalSeconds > options.Value.LivenessTimeoutSeconds
            ? HealthCheckResult.Unhealthy($"the processing loop has made no progress for {silentFor.TotalSeconds:F0} s")
            : HealthCheckResult.Healthy());
    }
}

/// <summary>Readiness: the producer is initialised, the group has assigned this instance its tasks, and every one has restored.</summary>
public sealed class WorkerReadinessCheck(SegmentWorkerService worker) : IHealthCheck
{
    public const string Tag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.Processor is { IsReady: true }
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("joining the group or restoring tasks"));
}
