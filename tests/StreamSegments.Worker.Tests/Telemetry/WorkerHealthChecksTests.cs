using Microsoft.Extensions.Diagnostics.HealthChecks;
using StreamSegments.Worker.Telemetry;

namespace StreamSegments.Worker.Tests.Telemetry;

public sealed class WorkerHealthChecksTests
{
    private static readonly TelemetryOptions Options = new() { LivenessTimeoutSeconds = 60, RestoreLivenessTimeoutSeconds = 600 };

    [Theory]
    [InlineData(false, false, 59, HealthStatus.Healthy, null)]
    [InlineData(false, false, 61, HealthStatus.Unhealthy, "the processing loop has made no progress for 61 s")]
    [InlineData(false, true, 61, HealthStatus.Healthy, "restoring")]
    [InlineData(false, true, 599, HealthStatus.Healthy, "restoring")]
    [InlineData(false, true, 601, HealthStatus.Unhealthy, "a restore has made no progress for 601 s")]
    [InlineData(true, false, 0, HealthStatus.Unhealthy, "the processing loop stopped on an error")]
    [InlineData(true, true, 0, HealthStatus.Unhealthy, "the processing loop stopped on an error")]
    public void Liveness_gives_a_restore_without_progress_its_own_longer_timeout(
        bool failed, bool restoring, int silentSeconds, HealthStatus status, string? description)
    {
        var verdict = WorkerLivenessCheck.Verdict(failed, restoring, TimeSpan.FromSeconds(silentSeconds), Options);

        Assert.Equal(status, verdict.Status);
        Assert.Equal(description, verdict.Description);
    }
}
