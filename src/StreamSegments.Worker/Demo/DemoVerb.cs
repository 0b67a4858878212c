using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Kafka.Processing;
using StreamSegments.Worker.Hosting;

namespace StreamSegments.Worker.Demo;

internal static class DemoVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--bootstrap-servers"] = "Kafka:BootstrapServers",
        ["--history-events"] = "Demo:HistoryEvents",
        ["--history-days"] = "Demo:HistoryDays",
        ["--events-per-second"] = "Demo:EventsPerSecond",
        ["--buyers"] = "Demo:Buyers",
        ["--sellers"] = "Demo:Sellers",
        ["--seed"] = "Demo:Seed",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<DemoOptions>(DemoOptions.SectionName);
        builder.Services.AddValidatedOptions<SegmentStreamOptions>(SegmentStreamOptions.SectionName);
        using var host = builder.Build();
        var kafka = host.Services.GetRequiredService<IOptions<SegmentStreamOptions>>().Value;
        var traffic = new DemoTraffic(
            host.Services.GetRequiredService<IOptions<DemoOptions>>().Value, kafka.Topics,
            string.IsNullOrWhiteSpace(kafka.BootstrapServers) ? "127.0.0.1:9092" : kafka.BootstrapServers,
            TimeProvider.System, host.Services.GetRequiredService<ILogger<DemoTraffic>>())
        {
            ClientSettings = kafka.Client,
        };
        traffic.ProduceHistory(cancellationToken);
        try
        {
            await traffic.ProduceLiveAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await Console.Error.WriteLineAsync($"demo: {traffic.Produced} events produced");
        return 0;
    }
}
