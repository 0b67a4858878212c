using Confluent.Kafka;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The librdkafka configuration of each of the worker's clients, built in one order: the worker's defaults,
/// then <see cref="SegmentStreamOptions.Client"/> (an operator's tuning wins over a default), then the settings
/// exactly-once and the task model depend on, which <see cref="SegmentStreamOptions.Client"/> may name only with the
/// worker's own value (<see cref="SegmentStreamOptions.ReservedClientSettings"/>, checked by the options' validation).
/// </summary>
public static class ClientConfigs
{
    private static string BootstrapServersOf(SegmentStreamOptions options) =>
        string.IsNullOrWhiteSpace(options.BootstrapServers)
            ? throw new ArgumentException("Kafka:BootstrapServers is required for the worker's clients.", nameof(options))
            : options.BootstrapServers;

    /// <summary>The transactional producer of outputs, changelog, markers and dead letters.</summary>
    internal static ProducerConfig Producer(SegmentStreamOptions options)
    {
        var config = WithClientSettings(new ProducerConfig
        {
            LingerMs = 5,
            QueueBufferingMaxMessages = 1_000_000,
        }, options.Client);
        config.BootstrapServers = BootstrapServersOf(options);
        config.TransactionalId = options.TransactionalId;
        config.EnableIdempotence = true;

        // A buyer's changes go to the partition the Java client (and Kafka Streams) would choose for its key, so a
        // consumer can co-partition them with its own buyer-keyed topics; librdkafka's default hashes with CRC32.
        // Every instance must agree, or one buyer's changes would spread over two partitions out of order.
        config.Partitioner = Partitioner.Murmur2Random;

        // Room for the largest dead letter and its headers (changelog parts and changes are far smaller), even where
        // Kafka:Client lowered it: a dead letter the producer refuses would stop the worker at every restart.
        config.MessageMaxBytes = Math.Max(config.MessageMaxBytes ?? 0, Math.Max(2 << 20, options.DeadLetterMaxBytes + (256 << 10)));
        return config;
    }

    /// <summary>The consumer of the input topics, in the worker's group.</summary>
    internal static ConsumerConfig Inputs(SegmentStreamOptions options)
    {
        var config = WithClientSettings(new ConsumerConfig
        {
            // A fetch that finds nothing new waits this long on the broker. A real broker answers as soon as a
            // record arrives, so a short wait only adds empty fetches while idle (at most 20/s); the embedded
            // broker always waits it out, and librdkafka's default (500 ms) then delays every record arriving
            // during the wait by up to half a second (ARCHITECTURE.md, "Latency").
            FetchWaitMaxMs = 50,
        }, options.Client);
        config.BootstrapServers = BootstrapServersOf(options);
        config.GroupId = options.GroupId;
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = true;

        // Tasks = partitions: partition p of every input topic must go to the same member, which the classic
        // protocol's range assignor does for co-partitioned topics.
        config.GroupProtocol = GroupProtocol.Classic;
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        return config;
    }

    /// <summary>The reader of changelog partitions for restores (assigned, never subscribed).</summary>
    internal static ConsumerConfig ChangelogReader(SegmentStreamOptions options)
    {
        var config = WithClientSettings(new ConsumerConfig(), options.Client);
        config.BootstrapServers = BootstrapServersOf(options);
        config.GroupId = $"{options.GroupId}-restore";
        config.EnableAutoCommit = false;
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = true;
        return config;
    }

    internal static AdminClientConfig Admin(SegmentStreamOptions options)
    {
        var config = WithClientSettings(new AdminClientConfig(), options.Client);
        config.BootstrapServers = BootstrapServersOf(options);
        return config;
    }

    /// <summary>
    /// What librdkafka refuses of the client settings (a name it does not know, a value it cannot take, settings that
    /// do not go together), as messages naming the keys as written; empty when it takes them. Asked at start, so that
    /// a typo is an invalid option, not a crash of the first client built naming librdkafka's alias for the key
    /// (<c>linger.ms</c> is <c>queue.buffering.max.ms</c> there).
    /// </summary>
    public static IReadOnlyList<string> RefusalsOf(IReadOnlyDictionary<string, string> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Count == 0 || Probe(settings) is not { } together)
        {
            return [];
        }

        // Taken together, since some are valid only with others (security.protocol SASL_SSL alone means GSSAPI, which
        // this librdkafka lacks; with sasl.mechanisms PLAIN it is fine). A key is named alone only for an error that
        // does not depend on the others.
        var alone = settings
            .Select(setting => (setting.Key, setting.Value, Refusal: Probe(new Dictionary<string, string> { [setting.Key] = setting.Value })))
            .Where(probe => probe.Refusal is { } refusal
                && (refusal.StartsWith("No such configuration property", StringComparison.Ordinal) || refusal.StartsWith("Invalid value", StringComparison.Ordinal)))
            .Select(probe => $"Kafka:Client:{probe.Key} ('{probe.Value}') is refused by librdkafka: {probe.Refusal}.")
            .ToList();
        return alone.Count > 0 ? alone : [$"Kafka:Client settings are refused by librdkafka together: {together}."];
    }

    private static string? Probe(IReadOnlyDictionary<string, string> settings)
    {
        try
        {
            // A producer with no broker to reach connects to nothing; a consumer-only setting is accepted with a warning.
            using var probe = new ProducerBuilder<byte[], byte[]>(WithClientSettings(new ProducerConfig(), settings)).SetLogHandler(static (_, _) => { }).Build();
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or KafkaException or InvalidOperationException)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Applies <paramref name="settings"/> (<see cref="SegmentStreamOptions.Client"/>) to <paramref name="config"/>:
    /// also for the tools around the worker (demo traffic, the change printer), which need the same connection
    /// settings (TLS, SASL).
    /// </summary>
    public static T WithClientSettings<T>(T config, IReadOnlyDictionary<string, string> settings)
        where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        foreach (var (key, value) in settings)
        {
            config.Set(key, value);
        }

        return config;
    }
}
