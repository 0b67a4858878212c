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

    /// <summary>
    /// Fault injection: the broker closes its connections and refuses new ones until <see cref="SetBrokerUp"/>
    /// (clients see a broker outage and reconnect).
    /// </summary>
    public void SetBrokerDown(int brokerId = 1)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckCall(RdKafkaNative.rd_kafka_mock_broker_set_down(cluster, brokerId), "broker_set_down");
    }

    public void SetBrokerUp(int brokerId = 1)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckCall(RdKafkaNative.rd_kafka_mock_broker_set_up(cluster, brokerId), "broker_set_up");
    }

    /// <summary>
    /// Fault injection: deletes a partition's records before <paramref name="beforeOffset"/> and moves its log start
    /// offset there, as retention does on a real broker to records no consumer may have read yet.
    /// </summary>
    public void DeleteRecords(string topic, int partition, long beforeOffset)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckCall(RdKafkaNative.rd_kafka_mock_partition_delete_records(cluster, topic, partition, beforeOffset), "partition_delete_records");
    }

    /// <summary>Fault injection: every response of the broker is delayed by <paramref name="roundTrip"/> (zero removes the delay).</summary>
    public void SetRoundTripTime(TimeSpan roundTrip, int brokerId = 1)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckCall(RdKafkaNative.rd_kafka_mock_broker_set_rtt(cluster, brokerId, (int)roundTrip.TotalMilliseconds), "broker_set_rtt");
    }

    /// <summary>
    /// Fault injection: the next requests of kind <paramref name="api"/> (from any client) fail with these errors,
    /// one each, in order; later ones are served normally.
    /// </summary>
    public void PushRequestErrors(KafkaApi api, params Confluent.Kafka.ErrorCode[] errors)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(errors);
        RdKafkaNative.rd_kafka_mock_push_request_errors_array(cluster, (short)api, (nuint)errors.Length, errors.Select(e => (int)e).ToArray());
    }

    /// <summary>Starts recording the requests the broker receives (see <see cref="CountRequests"/>).</summary>
    public void StartRequestTracking()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        RdKafkaNative.rd_kafka_mock_start_request_tracking(cluster);
    }

    /// <summary>How many requests of kind <paramref name="api"/> the broker received since tracking started.</summary>
    public int CountRequests(KafkaApi api)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var requests = RdKafkaNative.rd_kafka_mock_get_requests(cluster, out var count);
        try
        {
            var matching = 0;
            for (var i = 0; i < (int)count; i++)
            {
                if (RdKafkaNative.rd_kafka_mock_request_api_key(Marshal.ReadIntPtr(requests, i * IntPtr.Size)) == (short)api)
                {
                    matching++;
                }
            }

            return matching;
        }
        finally
        {
            if (requests != 0)
            {
                RdKafkaNative.rd_kafka_mock_request_destroy_array(requests, count);
            }
        }
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

    private static void CheckCall(int error, string call)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_{call} failed: {Marshal.PtrToStringUTF8(RdKafkaNative.rd_kafka_err2str(error))}");
        }
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

/// <summary>Kafka protocol request kinds (API keys) that fault injection can target.</summary>
public enum KafkaApi : short
{
    Produce = 0,
    Fetch = 1,
    Metadata = 3,
    ApiVersions = 18,
    InitProducerId = 22,
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
    TxnOffsetCommit = 28,
}
