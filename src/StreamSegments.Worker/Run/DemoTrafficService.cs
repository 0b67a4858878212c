using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Kafka.Processing;
using StreamSegments.Worker.Demo;

namespace StreamSegments.Worker.Run;

/// <summary>Runs <see cref="DemoTraffic"/> for the life of the host: history first, then live events.</summary>
public sealed class DemoTrafficService(
    IOptions<DemoOptions> demo, IOptions<SegmentStreamOptions> kafka, TimeProvider time, ILogger<DemoTraffic> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var traffic = new DemoTraffic(demo.Value, kafka.Value.Topics, kafka.Value.BootstrapServers!, time, logger) { ClientSettings = kafka.Value.Client };
        await Task.Factory.StartNew(() => traffic.ProduceHistory(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await traffic.ProduceLiveAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
