using System.Reflection;
using System.Runtime.InteropServices;

namespace StreamSegments.Kafka.Broker;

/// <summary>
/// The few librdkafka entry points the embedded broker needs that Confluent.Kafka does not expose: the mock
/// cluster API. Loads the same librdkafka build Confluent.Kafka falls back to here (the package's default
/// linux-x64 build needs libsasl2, which these machines lack).
/// </summary>
internal static partial class RdKafkaNative
{
    private const string Library = "librdkafka";

    static RdKafkaNative() => NativeLibrary.SetDllImportResolver(typeof(RdKafkaNative).Assembly, Resolve);

    public const int ProducerType = 0;

    [LibraryImport(Library)]
    public static partial nint rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_conf_set(nint conf, string name, string value, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial nint rd_kafka_new(int type, nint conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    public static partial void rd_kafka_destroy(nint rk);

    [LibraryImport(Library)]
    public static partial nint rd_kafka_mock_cluster_new(nint rk, int brokerCount);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_cluster_destroy(nint cluster);

    [LibraryImport(Library)]
    public static partial nint rd_kafka_mock_cluster_bootstraps(nint cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_topic_create(nint cluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Library)]
    public static partial nint rd_kafka_err2str(int error);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_broker_set_host_port(nint cluster, int brokerId, string host, int port);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_partition_delete_records(nint cluster, string topic, int partition, long beforeOffset);

    [LibraryImport(Library)]
    public static partial int rd_kafka_mock_broker_set_down(nint cluster, int brokerId);

    [LibraryImport(Library)]
    public static partial int rd_kafka_mock_broker_set_up(nint cluster, int brokerId);

    [LibraryImport(Library)]
    public static partial int rd_kafka_mock_broker_set_rtt(nint cluster, int brokerId, int rttMs);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_push_request_errors_array(nint cluster, short apiKey, nuint count, int[] errors);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_start_request_tracking(nint cluster);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_stop_request_tracking(nint cluster);

    [LibraryImport(Library)]
    public static partial nint rd_kafka_mock_get_requests(nint cluster, out nuint count);

    [LibraryImport(Library)]
    public static partial short rd_kafka_mock_request_api_key(nint request);

    [LibraryImport(Library)]
    public static partial void rd_kafka_mock_request_destroy_array(nint requests, nuint count);

    public static void EnsureLoaded()
    {
        // Touching the class runs the static constructor, which registers the resolver before any call.
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }

        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier.StartsWith("linux-arm", StringComparison.Ordinal) ? "linux-arm64" : "linux-x64", "native");
        foreach (var candidate in new[] { "centos8-librdkafka.so", "librdkafka.so", "alpine-librdkafka.so" })
        {
            if (NativeLibrary.TryLoad(Path.Combine(native, candidate), out var handle))
            {
                return handle;
            }
        }

        return NativeLibrary.TryLoad("librdkafka", assembly, searchPath, out var fallback) ? fallback : 0;
    }
}
