using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Worker.Demo;

/// <summary>
/// Produces the demo marketplace's events to the input topics, keyed by buyer (which co-partitions them): first
/// <see cref="DemoOptions.HistoryEvents"/> spread over the last <see cref="DemoOptions.HistoryDays"/> days, as fast
/// as the broker takes them, then live events at <see cref="DemoOptions.EventsPerSecond"/>, stamped with the wall clock.
/// </summary>
public sealed partial class DemoTraffic(DemoOptions options, TopicOptions topics, string bootstrapServers, TimeProvider time, ILogger<DemoTraffic> logger)
{
    public long Produced { get; private set; }

    /// <summary>librdkafka settings for the producer (the worker's <c>Kafka:Client</c>: TLS, SASL).</summary>
    public IReadOnlyDictionary<string, string> ClientSettings { get; init; } = new Dictionary<string, string>();

    public void ProduceHistory(CancellationToken cancellationToken)
    {
        using var producer = CreateProducer();
        var marketplace = new DemoMarketplace(options);
        var end = time.GetUtcNow().ToUnixTimeMilliseconds();
        var start = end - (options.HistoryDays * 86_400_000L);
        for (var i = 0; i < options.HistoryEvents && !cancellationToken.IsCancellationRequested; i++)
        {
            var at = start + ((end - start) * i / Math.Max(1, options.HistoryEvents));
            Produce(producer, marketplace.Next(at, (double)i / options.HistoryEvents), at);
        }

        producer.Flush(cancellationToken);
        LogHistory(options.HistoryEvents, options.HistoryDays);
        marketplaceAfterHistory = marketplace;
    }

    public async Task ProduceLiveAsync(CancellationToken cancellationToken)
    {
        if (options.EventsPerSecond == 0)
        {
            return;
        }

        using var producer = CreateProducer();
        var marketplace = marketplaceAfterHistory ?? new DemoMarketplace(options);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var due = (long)(clock.Elapsed.TotalSeconds * options.EventsPerSecond);
            for (; sent < due; sent++)
            {
                var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                Produce(producer, marketplace.Next(now, 1), now);
            }
        }
    }

    private readonly Random flaws = new(options.Seed);
    private DemoMarketplace? marketplaceAfterHistory;

    private IProducer<byte[], byte[]> CreateProducer()
    {
        var config = ClientConfigs.WithClientSettings(new ProducerConfig { LingerMs = 5 }, ClientSettings);
        config.BootstrapServers = bootstrapServers;
        config.EnableIdempotence = true;
        config.TransactionalId = null; // Kafka:Client may name the worker's, and sharing it would fence the worker
        return new ProducerBuilder<byte[], byte[]>(config).Build();
    }

    private void Produce(IProducer<byte[], byte[]> producer, DemoEvent e, long at)
    {
        var topic = topics.InputTopicOf(e.Type);
        var message = new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(e.BuyerId),
            Value = e.Value.ToArray(),
            Timestamp = new Timestamp(DateTimeOffset.FromUnixTimeMilliseconds(at)),
        };
        Send(producer, topic, message);

        // Real traffic has retries and garbage; the demo shows both handled (and the dashboards' panels for them).
        var roll = flaws.NextDouble();
        if (roll < options.DuplicateRate)
        {
            Send(producer, topic, message);
        }
        else if (roll < options.DuplicateRate + options.InvalidRate)
        {
            Send(producer, topic, new Message<byte[], byte[]> { Key = message.Key, Value = message.Value[..(message.Value.Length / 2)], Timestamp = message.Timestamp });
        }
    }

    private void Send(IProducer<byte[], byte[]> producer, string topic, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                Produced++;
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo: produced {Events} events of history over the last {Days} days")]
    private partial void LogHistory(int events, int days);
}
