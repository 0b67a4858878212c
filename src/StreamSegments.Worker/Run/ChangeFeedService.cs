using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Worker.Run;

/// <summary>
/// The demo's window on the output: reads committed segment changes as a downstream service would and prints
/// each one, and every few seconds how many pairs each segment holds.
/// </summary>
public sealed class ChangeFeedService(IOptions<SegmentStreamOptions> options, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan CountsEvery = TimeSpan.FromSeconds(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Factory.StartNew(
        () => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        // The worker's connection settings (TLS, SASL), but a group of its own: Kafka:Client may name the worker's.
        var config = ClientConfigs.WithClientSettings(new ConsumerConfig { AutoOffsetReset = AutoOffsetReset.Earliest }, options.Value.Client);
        config.BootstrapServers = options.Value.BootstrapServers;
        config.GroupId = $"{options.Value.GroupId}-console-{Guid.NewGuid():N}";
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Subscribe(options.Value.Topics.SegmentChanges);
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var nextCounts = time.GetUtcNow() + CountsEvery;
        var output = Console.Out;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (record?.Message?.Value is { } value)
                {
                    using var change = JsonDocument.Parse(value);
                    var root = change.RootElement;
                    var from = root.GetProperty("from").ValueKind == JsonValueKind.Null ? null : root.GetProperty("from").GetString();
                    var to = root.GetProperty("to").ValueKind == JsonValueKind.Null ? null : root.GetProperty("to").GetString();
                    Count(counts, from, -1);
                    Count(counts, to, +1);
                    output.WriteLine(
                        $"{root.GetProperty("effectiveAt").GetString()}  {root.GetProperty("sellerId").GetString(),-8} {root.GetProperty("buyerId").GetString(),-10} " +
                        $"{from ?? "-",-22} -> {to ?? "-",-22} ({root.GetProperty("cause").GetString()})");
                }

                if (time.GetUtcNow() >= nextCounts)
                {
                    nextCounts = time.GetUtcNow() + CountsEvery;
                    output.WriteLine($"== pairs per segment: {string.Join("  ", counts.Where(c => c.Value != 0).Select(c => $"{c.Key}={c.Value}"))}");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            consumer.Close();
        }
    }

    private static void Count(SortedDictionary<string, long> counts, string? segment, int delta)
    {
        if (segment is not null)
        {
            counts[segment] = counts.GetValueOrDefault(segment) + delta;
        }
    }
}
