using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Worker.Hosting;

namespace StreamSegments.Worker.Telemetry;

/// <summary>
/// Wires the worker's signals to OpenTelemetry: its meter and activity source, .NET runtime metrics, logs through
/// ILogger; a Prometheus scrape endpoint and health probes on one small HTTP listener; OTLP and console exporters
/// when asked for. Every signal carries one resource (service name, version, instance id).
/// </summary>
internal static class WorkerTelemetry
{
    public const string ServiceName = "streamsegments";

    public static void AddWorkerTelemetry(this WebApplicationBuilder builder, TelemetryOptions options, string instanceId)
    {
        builder.Services.AddValidatedOptions<TelemetryOptions>(TelemetryOptions.SectionName);
        builder.Services.AddSingleton(services => new SegmentStreamTelemetry(
            services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            services.GetRequiredService<IOptions<SegmentStreamOptions>>().Value));
        builder.Services.AddHealthChecks()
            // Ready includes live: a rollout must not take an instance whose loop stopped or hangs for one that serves.
            .AddCheck<WorkerLivenessCheck>("processing-loop", tags: [WorkerLivenessCheck.Tag, WorkerReadinessCheck.Tag])
            .AddCheck<WorkerReadinessCheck>("tasks-restored", tags: [WorkerReadinessCheck.Tag]);

        // The health service logs every failing probe at Error: after each rebalance, one per readiness probe until
        // the tasks have restored. The worker logs its own failures; those would only bury them.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);

        var openTelemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(ServiceName, serviceVersion: SegmentStreamTelemetry.Version, serviceInstanceId: instanceId)
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SegmentStreamTelemetry.MeterName).AddRuntimeInstrumentation().AddPrometheusExporter();
                if (options.Console)
                {
                    metrics.AddConsoleExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(SegmentStreamTelemetry.ActivitySourceName);
                if (options.Console)
                {
                    tracing.AddConsoleExporter();
                }
            });
        if (options.OtlpEnabled)
        {
            // Logs leave through OTLP only: stderr already has them, and the log pipeline costs nothing when unused.
            openTelemetry.WithLogging(_ => { }, logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            openTelemetry.UseOtlpExporter();
        }

        // An unparseable host is reported by the options' validation at start, with the key's name.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.TryParse(options.Host, out var host) ? host : IPAddress.Any, options.Port));
    }

    /// <summary><c>/health/live</c>, <c>/health/ready</c> (200 or 503) and <c>/metrics</c> (Prometheus text format).</summary>
    public static void MapWorkerEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WorkerLivenessCheck.Tag) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(WorkerReadinessCheck.Tag) });
        app.MapPrometheusScrapingEndpoint();
    }
}
