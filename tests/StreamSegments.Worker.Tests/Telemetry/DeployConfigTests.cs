using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Telemetry;

/// <summary>
/// The dashboard and the alert rules in deploy/ query only series the worker exports, under the names Prometheus
/// gives them (OpenTelemetry's conversion: dots to underscores, unit suffix, <c>_total</c> for counters): a renamed
/// instrument must not leave an empty panel or an alert that can never fire.
/// </summary>
public sealed partial class DeployConfigTests
{
    private static readonly string Deploy = Path.Combine(RepoPaths.Root, "deploy");

    [Fact]
    public void Every_series_the_dashboard_queries_is_exported_by_the_worker()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "dashboards", "streamsegments.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray().Select(target => target.GetProperty("expr").GetString()!))
            .ToList();

        Assert.True(expressions.Count >= 20, $"only {expressions.Count} queries in the dashboard");
        AssertEveryQueriedSeriesIsExported(expressions);
    }

    [Fact]
    public void Every_series_an_alert_rule_queries_is_exported_by_the_worker()
    {
        var expressions = AlertExpressions(File.ReadAllLines(Path.Combine(Deploy, "prometheus", "alerts.yml")));

        Assert.Equal(9, expressions.Count);
        AssertEveryQueriedSeriesIsExported(expressions);
    }

    private static void AssertEveryQueriedSeriesIsExported(IReadOnlyList<string> expressions)
    {
        var exported = ExportedSeries();
        foreach (var expression in expressions)
        {
            var series = QueriedSeries(expression).ToList();
            Assert.True(series.Count > 0, $"no series of the worker in: {expression}");
            Assert.All(series, name => Assert.True(exported.Contains(name), $"'{name}' is not exported (in: {expression})"));
        }
    }

    /// <summary>The Prometheus series of every instrument on the worker's meter.</summary>
    private static HashSet<string> ExportedSeries()
    {
        var series = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name != SegmentStreamTelemetry.MeterName)
                {
                    return;
                }

                var name = instrument.Name.Replace('.', '_') + instrument.Unit switch
                {
                    "s" => "_seconds",
                    "By" => "_bytes",
                    _ => string.Empty, // {annotations} add no suffix
                };
                var isCounter = instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal)
                    || instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal);
                if (instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal))
                {
                    series.UnionWith([$"{name}_bucket", $"{name}_sum", $"{name}_count"]);
                }
                else
                {
                    series.Add(isCounter ? $"{name}_total" : name);
                }
            },
        };
        listener.Start();
        using var telemetry = new SegmentStreamTelemetry(null, new SegmentStreamOptions());
        Assert.True(series.Count >= 20, $"only {series.Count} series seen");
        return series;
    }

    /// <summary>Metric names in a PromQL expression: selectors' label matchers and by/without/on lists removed first.</summary>
    private static IEnumerable<string> QueriedSeries(string expression)
    {
        var withoutLabels = LabelLists().Replace(Selectors().Replace(expression, string.Empty), string.Empty);
        return Names().Matches(withoutLabels).Select(m => m.Value).Distinct();
    }

    /// <summary>The <c>expr</c> of each rule: inline, or the indented block after <c>expr: |</c>.</summary>
    private static List<string> AlertExpressions(string[] lines)
    {
        var expressions = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (!trimmed.StartsWith("expr:", StringComparison.Ordinal))
            {
                continue;
            }

            var inline = trimmed["expr:".Length..].Trim();
            if (inline != "|")
            {
                expressions.Add(inline);
                continue;
            }

            var indent = lines[i].Length - trimmed.Length;
            var block = new List<string>();
            while (i + 1 < lines.Length && (lines[i + 1].Length - lines[i + 1].TrimStart().Length > indent || lines[i + 1].Trim().Length == 0))
            {
                block.Add(lines[++i].Trim());
            }

            expressions.Add(string.Join(' ', block));
        }

        return expressions;
    }

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Selectors();

    [GeneratedRegex(@"\b(by|without|on|ignoring)\s*\([^)]*\)")]
    private static partial Regex LabelLists();

    [GeneratedRegex(@"\b(streamsegments|messaging)_[a-z0-9_]+")]
    private static partial Regex Names();
}
