using System.Runtime.InteropServices;

namespace StreamSegments.Kafka.Broker;

/// <summary>
/// A Kafka-protocol broker in this process: librdkafka's mock cluster, which speaks the real protocol over
/// TCP (produce, fetch, consumer groups, transactions) and keeps data in memory. It backs the tests and the
/// worker when no bootstrap servers are configured; nothing else in the code may depend on it.
/// </summary>
public sealed class EmbeddedBroker : IAsyncDisposable, IDisposable
{
    private readonly nint handle;
    private readonly nint cluster;
    private TcpForwarder? forwarder;
    private bool disposed;

    public EmbeddedBroker(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        RdKafkaNative.EnsureLoaded();
        var error = new byte[512];
        var conf = RdKafkaNative.rd_kafka_conf_new();
        Check(RdKafkaNative.rd_kafka_conf_set(conf, "log_level", "3", error, (nuint)error.Length), error);
        handle = RdKafkaNative.rd_kafka_new(RdKafkaNative.ProducerType, conf, error, (nuint)error.Length);
        if (handle == 0)
        {
            throw new InvalidOperationException($"librdkafka could not create the mock cluster's client: {Text(error)}");
        }

        cluster = RdKafkaNative.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == 0)
        {
            RdKafkaNative.rd_kafka_destroy(handle);
            throw new InvalidOperationException("librdkafka could not create a mock cluster.");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(RdKafkaNative.rd_kafka_mock_cluster_bootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster has no bootstrap address.");
    }

    /// <summary>
    /// How much of each partition the mock keeps: librdkafka's mock drops a partition's oldest record batches once
    /// it holds more than 5 MiB (or 100,000 batches); the log start offset moves up and readers from the beginning
    /// silently miss them. Not settable through its API. Size topics (partition counts) to stay below it.
    /// </summary>
    public const long RetainedBytesPerPartition = 5L << 20;

    /// <summary>Where clients connect: <c>host:port[,host:port]</c> on loopback, ephemeral ports.</summary>
    public string BootstrapServers { get; }

    /// <summary>Creates a topic with its partition count (the mock does not support the Admin API's CreateTopics).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var error = RdKafkaNative.rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor);
        if (error != 0)
        {
            throw new InvalidOperationException(
                $"Creating topic '{name}' failed: {Marshal.PtrToStringUTF8(RdKafkaNative.rd_kafka_err2str(error))}");
        }
    }

    /// <summary>
    /// Serves the (single-broker) cluster on a fixed address, e.g. 127.0.0.1:9092, and makes the broker advertise
    /// it, so clients that only know that address (kcat, another process) find the broker there.
    /// </summary>
    public string ExposeOn(System.Net.IPEndPoint endpoint)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(endpoint);
        var actual = BootstrapServers.Split(',')[0];
        var separator = actual.LastIndexOf(':');
        var target = new System.Net.IPEndPoint(
            System.Net.IPAddress.Parse(actual[..separator].Trim('[', ']') is "localhost" ? "127.0.0.1" : actual[..separator].Trim('[', ']')),
            int.Parse(actual[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        forwarder = new TcpForwarder(endpoint, target);
        var advertised = $"{forwarder.Endpoint.Address}:{forwarder.Endpoint.Port}";
        var error = RdKafkaNative.rd_kafka_mock_broker_set_host_port(cluster, 1, forwarder.Endpoint.Address.ToString(), forwarder.Endpoint.Port);
        if (error != 0)
        {
            throw new InvalidOperationException($"Advertising {advertised} failed: {Marshal.PtrToStringUTF8(RdKafkaNative.rd_kafka_err2str(error))}");
        }

        return advertised;
    }

    public async ValueTask DisposeAsync()
    {
        if (forwarder is not null)
        {
            await forwarder.DisposeAsync();
            forwarder = null;
        }

        Dispose();
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        forwarder?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        RdKafkaNative.rd_kafka_mock_cluster_destroy(cluster);
        RdKafkaNative.rd_kafka_destroy(handle);
    }

    private static void Check(int result, byte[] error)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"librdkafka configuration failed: {Text(error)}");
        }
    }

    private static string Text(byte[] error) => System.Text.Encoding.UTF8.GetString(error, 0, Math.Max(0, Array.IndexOf(error, (byte)0)));
}
