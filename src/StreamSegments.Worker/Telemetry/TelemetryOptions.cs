using System.ComponentModel.DataAnnotations;
using System.Net;

namespace StreamSegments.Worker.Telemetry;

/// <summary>
/// What the <c>run</c> verb exposes to the people who operate it (section <c>Telemetry</c>): the HTTP listener for
/// health probes and the Prometheus scrape endpoint, and which OpenTelemetry exporters push. The OTLP exporter's
/// endpoint, protocol and headers come from the standard <c>OTEL_EXPORTER_OTLP_*</c> environment variables, its
/// export interval from <c>OTEL_METRIC_EXPORT_INTERVAL</c>, and <c>OTEL_SERVICE_NAME</c> / <c>OTEL_RESOURCE_ATTRIBUTES</c>
/// override the resource.
/// </summary>
public sealed class TelemetryOptions : IValidatableObject
{
    public const string SectionName = "Telemetry";

    /// <summary>Address the HTTP listener binds to (<c>/health/live</c>, <c>/health/ready</c>, <c>/metrics</c>).</summary>
    [Required]
    public string Host { get; set; } = "0.0.0.0";

    /// <summary>Port of the HTTP listener; 0 picks a free one (logged at start). 9464 is OpenTelemetry's Prometheus default.</summary>
    [Range(0, 65_535)]
    public int Port { get; set; } = 9464;

    /// <summary>Push metrics, traces and logs over OTLP; by default only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public bool? Otlp { get; set; }

    /// <summary>Also write metrics and traces to stdout (debugging only: it is verbose).</summary>
    public bool Console { get; set; }

    /// <summary>The liveness probe fails once the processing loop has not gone round (nor made restore progress) for this long.</summary>
    [Range(5, 3_600)]
    public int LivenessTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// While a task restores, the liveness probe fails only after this long without restore progress: reading the
    /// changelog and scanning the store report progress, FASTER's recovery of a large checkpoint does not.
    /// </summary>
    [Range(60, 86_400)]
    public int RestoreLivenessTimeoutSeconds { get; set; } = 600;

    public bool OtlpEnabled => Otlp ?? !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(Host, out _))
        {
            yield return new ValidationResult($"Telemetry:Host '{Host}' is not an IP address.", [nameof(Host)]);
        }
    }
}
