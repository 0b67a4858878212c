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
/// <remarks>
/// On a broker that does not isolate transactions (<see cref="SegmentStreamOptions.DeliverBeforeMarkers"/>, the
/// embedded one) read_committed also shows the records of a commit a killed worker never finished, which its
/// restart publishes again: there the feed reads the changelog too and prints a change once a commit marker seals
/// it (<see cref="CommittedOutputs{TRecord}"/>), as README tells a consumer to.
/// </remarks>
public sealed class ChangeFeedService : BackgroundService
{
    private static readonly TimeSpan CountsEvery = TimeSpan.FromSeconds(5);

    private readonly SegmentStreamOptions options;
    private readonly TimeProvider time;
    private readonly TextWriter output;
    private readonly SortedDictionary<string, long> counts = new(StringComparer.Ordinal);

    public ChangeFeedService(IOptions<SegmentStreamOptions> options, TimeProvider time)
        : this(options, time, Console.Out)
    {
    }

    internal ChangeFeedService(IOptions<SegmentStreamOptions> options, TimeProvider time, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.time = time;
        this.output = output;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Factory.StartNew(
        () => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        // The worker's connection settings (TLS, SASL), but a group of its own: Kafka:Client may name the worker's.
        var config = ClientConfigs.WithClientSettings(new ConsumerConfig { AutoOffsetReset = AutoOffsetReset.Earliest }, options.Client);
        config.BootstrapServers = options.BootstrapServers;
        config.GroupId = $"{options.GroupId}-console-{Guid.NewGuid():N}";
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        var committed = options.DeliverBeforeMarkers
            ? new CommittedOutputs<byte[]>(TimeSpan.FromMilliseconds(options.TransactionTimeoutMs), time)
            : null;
        consumer.Subscribe(committed is null ? [options.Topics.SegmentChanges] : [options.Topics.SegmentChanges, options.Topics.Changelog]);
        var released = new List<byte[]>();
        var nextCounts = time.GetUtcNow() + CountsEvery;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (record?.Message is { } message)
                {
                    var commitId = message.Headers?.TryGetLastBytes(CommitMarker.Header, out var header) == true ? header : [];
                    if (committed is null)
                    {
                        Print(message.Value);
                    }
                    else if (record.Topic != options.Topics.SegmentChanges)
                    {
                        if (message.Key is { } key && CommitMarker.IsMarkerKey(key))
                        {
                            committed.Seal(commitId, released);
                            released.ForEach(Print);
                            released.Clear();
                        }
                    }
                    else if (message.Value is { } value && committed.Offer(commitId, value) == OutputCommitState.Committed)
                    {
                        Print(value);
                    }
                }

                if (time.GetUtcNow() >= nextCounts)
                {
                    nextCounts = time.GetUtcNow() + CountsEvery;
                    if (committed?.GiveUpStale() is > 0 and var dropped)
                    {
                        output.WriteLine($"== {dropped} changes of commits no marker sealed in time were dropped: a worker stopped before committing them, or the changelog no longer holds their markers (the embedded broker keeps 5 MiB per partition)");
                    }

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

    private void Print(byte[]? value)
    {
        if (value is null)
        {
            return;
        }

        using var change = JsonDocument.Parse(value);
        var root = change.RootElement;
        var from = root.GetProperty("from").ValueKind == JsonValueKind.Null ? null : root.GetProperty("from").GetString();
        var to = root.GetProperty("to").ValueKind == JsonValueKind.Null ? null : root.GetProperty("to").GetString();
        Count(from, -1);
        Count(to, +1);
        output.WriteLine(
            $"{root.GetProperty("effectiveAt").GetString()}  {root.GetProperty("sellerId").GetString(),-8} {root.GetProperty("buyerId").GetString(),-10} " +
            $"{from ?? "-",-22} -> {to ?? "-",-22} ({root.GetProperty("cause").GetString()})");
    }

    private void Count(string? segment, int delta)
    {
        if (segment is not null)
        {
            counts[segment] = counts.GetValueOrDefault(segment) + delta;
        }
    }
}
