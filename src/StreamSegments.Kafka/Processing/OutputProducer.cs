using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The worker's one transactional producer (KIP-447 style: one per instance, fenced by the group's metadata),
/// opening a transaction lazily with the first record of a commit interval. Everything a commit interval
/// produces (changes, dead letters, changelog, markers) and the input offsets become visible together or not
/// at all.
/// </summary>
internal sealed class OutputProducer : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommitGrace = TimeSpan.FromSeconds(5);

    private readonly IProducer<byte[]?, byte[]?> producer;

    /// <summary>A commit call never returned; the client may still be inside it, so it is not disposed (it would wait for it).</summary>
    private bool wedged;

    public OutputProducer(SegmentStreamOptions options, ILogger logger)
    {
        var config = ClientConfigs.Producer(options);
        producer = new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler((_, message) => ClientLog.Write(logger, message))
            .Build();
        producer.InitTransactions(CallTimeout);
    }

    public bool InTransaction { get; private set; }

    /// <summary>Records produced in the open transaction.</summary>
    public long Pending { get; private set; }

    public void Produce(string topic, byte[]? key, byte[]? value, Headers? headers) =>
        Produce(new TopicPartition(topic, Partition.Any), key, value, headers, null);

    public void Produce(TopicPartition destination, byte[]? key, byte[]? value, Headers? headers, Action<DeliveryReport<byte[]?, byte[]?>>? onDelivered)
    {
        if (!InTransaction)
        {
            producer.BeginTransaction();
            InTransaction = true;
            Pending = 0;
        }

        var message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers };
        while (true)
        {
            try
            {
                producer.Produce(destination, message, onDelivered);
                Pending++;
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                // Back-pressure from librdkafka's queue: let deliveries drain, then retry.
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>Waits until every record produced so far is delivered (acknowledged by the broker).</summary>
    public void Flush()
    {
        if (InTransaction && producer.Flush(CallTimeout) > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"Records still undelivered after {CallTimeout}."));
        }
    }

    /// <summary>Commits the open transaction with the consumer's offsets; a failure is fatal for this instance (see ARCHITECTURE.md).</summary>
    public void Commit(IEnumerable<TopicPartitionOffset> offsets, IConsumerGroupMetadata groupMetadata)
    {
        if (!InTransaction)
        {
            return;
        }

        // librdkafka can block in SendOffsetsToTransaction past its timeout when the group coordinator went away
        // during the call (confluentinc/librdkafka#5456, seen here with the embedded broker down for 3 s: the
        // loop stalled until the group evicted it). A commit that outlives its timeout is therefore abandoned and
        // treated like any failed commit: fatal, and the restarted instance restores from the changelog.
        var commit = Task.Run(() =>
        {
            producer.SendOffsetsToTransaction(offsets, groupMetadata, CallTimeout);
            producer.CommitTransaction(CallTimeout);
        });
        if (!commit.Wait(CallTimeout + CommitGrace))
        {
            wedged = true;
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"The transaction did not commit within {CallTimeout + CommitGrace}."));
        }

        commit.GetAwaiter().GetResult();
        InTransaction = false;
    }

    /// <summary>Drops the open transaction (partitions lost); its records never become visible to read_committed readers.</summary>
    public void Abort()
    {
        if (InTransaction)
        {
            producer.AbortTransaction(CallTimeout);
            InTransaction = false;
        }
    }

    public void Dispose()
    {
        if (!wedged)
        {
            producer.Dispose();
        }
    }
}
