using OpenTelemetry;
using OpenTelemetry.Metrics;
using StreamSegments.Kafka.Telemetry;

namespace StreamSegments.Kafka.Tests.Support;

/// <summary>The worker's metrics as the OpenTelemetry SDK exports them (what Prometheus and OTLP see), kept in memory.</summary>
public sealed class ExportedMetrics : IDisposable
{
    private readonly List<MetricSnapshot> exported = [];
    private readonly MeterProvider provider;

    public ExportedMetrics() =>
        provider = Sdk.CreateMeterProviderBuilder().AddMeter(SegmentStreamTelemetry.MeterName).AddInMemoryExporter(exported).Build();

    /// <summary>Every metric as of now.</summary>
    public List<MetricSnapshot> Collect()
    {
        exported.Clear();
        provider.ForceFlush();
        return [.. exported];
    }

    public void Dispose() => provider.Dispose();

    /// <summary>A metric's points keyed by the named attributes' values (joined by '|'), with their sum or last value.</summary>
    public static Dictionary<string, double> Points(List<MetricSnapshot> snapshot, string name, params string[] keys)
    {
        var metric = snapshot.LastOrDefault(m => m.Name == name);
        Assert.True(metric is not null, $"no {name} was exported");
        var points = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var point in metric.MetricPoints)
        {
            var tags = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in point.Tags)
            {
                tags[tag.Key] = tag.Value;
            }

            var key = string.Join("|", keys.Select(k => Convert.ToString(tags.GetValueOrDefault(k), System.Globalization.CultureInfo.InvariantCulture)));
            points[key] = points.GetValueOrDefault(key) + metric.MetricType switch
            {
                MetricType.LongSum => point.GetSumLong(),
                MetricType.LongGauge => point.GetGaugeLastValueLong(),
                MetricType.DoubleGauge => point.GetGaugeLastValueDouble(),
                MetricType.DoubleSum => point.GetSumDouble(),
                _ => throw new InvalidOperationException($"{name} is a {metric.MetricType}"),
            };
        }

        return points;
    }

    public static int CountPoints(List<MetricSnapshot> snapshot, string name)
    {
        var count = 0;
        foreach (var _ in snapshot.LastOrDefault(m => m.Name == name)?.MetricPoints ?? [])
        {
            count++;
        }

        return count;
    }

    public static long HistogramCount(List<MetricSnapshot> snapshot, string name)
    {
        var metric = snapshot.LastOrDefault(m => m.Name == name);
        Assert.True(metric is not null, $"no {name} was exported");
        long count = 0;
        foreach (var point in metric.MetricPoints)
        {
            count += point.GetHistogramCount();
        }

        return count;
    }
}

/// <summary>
/// A listener subscribes to the meter and activity source by name, so it would also hear the workers of tests running
/// in parallel: the tests that read them run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "telemetry (runs alone)";
}
