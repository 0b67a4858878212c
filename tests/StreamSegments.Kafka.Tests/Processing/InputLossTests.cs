using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Kafka.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

/// <summary>Input records a partition's retention deleted before the worker read them: gone, so counted and reported.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class InputLossTests : IDisposable
{
    private static readonly DateTimeOffset First = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly KafkaScenario scenario = new(partitions: 1);

    [Fact]
    public void Records_deleted_before_the_worker_read_them_are_counted_and_logged_as_lost_and_reading_goes_on_while_transaction_markers_are_no_loss()
    {
        // Offsets 0-1, a commit marker at 2, 3-4, a marker at 5, then 6: the worker reads past two gaps that lose nothing.
        ProduceInTransactions([[View(0), View(1)], [View(2), View(3)]]);
        scenario.Produce([View(4)], First.AddMinutes(4));
        Assert.Equal(7, HighWatermark());
        var options = scenario.Options(successiveRuns: true);
        var counters = scenario.RunWorkerUntilQuiet(5, options: options);
        Assert.Equal(5, counters.RecordsConsumed);
        Assert.Equal(0, counters.InputRecordsLost);

        // While the worker is away, five more arrive (offsets 7-11) and retention deletes everything before offset 10.
        scenario.Produce(Enumerable.Range(5, 5).Select(View), First.AddMinutes(5));
        scenario.Broker.DeleteRecords(scenario.Topics.ProductsViewed, 0, 10);

        var logger = new RecordingLogger<SegmentStreamProcessor>();
        using var metrics = new ExportedMetrics();
        using var telemetry = new SegmentStreamTelemetry(null, options);
        using var worker = scenario.StartWorker(options, telemetry: telemetry, logger: logger);
        KafkaScenario.WaitUntilQuiet(worker.Processor, 2, () => worker.Failure is not null);
        worker.Stop();

        Assert.Null(worker.Failure);
        Assert.Equal(3, worker.Processor.Counters.InputRecordsLost);
        Assert.Equal(2, worker.Processor.Counters.RecordsConsumed);
        Assert.Single(logger.Lines, line => line.StartsWith("Error: Input products.viewed [0] lost offsets 7 to 9 (3 records)", StringComparison.Ordinal));

        // Every input topic's series is there from the start (at 0), so an alert's increase() sees the first loss.
        Assert.Equal(
            scenario.Topics.Inputs.Select(topic => (topic, topic == scenario.Topics.ProductsViewed ? 3.0 : 0.0)).Order(),
            ExportedMetrics.Points(metrics.Collect(), "streamsegments.input.records.lost", "messaging.destination.name").Select(p => (p.Key, p.Value)).Order());
    }

    [Fact]
    public void A_quiet_partition_whose_unread_records_were_deleted_is_reported_once_and_its_position_committed_past_the_gap()
    {
        // Offsets 0-1, then the transaction's commit marker at 2.
        ProduceInTransactions([[View(0), View(1)]]);
        var options = scenario.Options(successiveRuns: true);
        Assert.Equal(2, scenario.RunWorkerUntilQuiet(2, options: options).RecordsConsumed);

        // The marker holds nothing to read: the committed position is past it, so the partition shows no lag.
        Assert.Equal(3, CommittedOffset());

        // Two more arrive while the worker is away, and retention deletes both: the partition is quiet at its end.
        scenario.Produce([View(2), View(3)], First.AddMinutes(2));
        scenario.Broker.DeleteRecords(scenario.Topics.ProductsViewed, 0, 5);
        using (var worker = scenario.StartWorker(options))
        {
            KafkaScenario.WaitFor(() => worker.Processor.Counters.InputRecordsLost > 0 || worker.Failure is not null, "the loss to be found");
            KafkaScenario.WaitFor(() => CommittedOffset() == 5, "the position past the deleted records to be committed");
            worker.Stop();
            Assert.Null(worker.Failure);
            Assert.Equal(2, worker.Processor.Counters.InputRecordsLost);
            Assert.Equal(0, worker.Processor.Counters.RecordsConsumed);
        }

        // A restart reads on from there: the same records are not found missing again.
        var restarted = scenario.RunRestoredWorkerUntilQuiet(TimeProvider.System, options);
        Assert.Equal(0, restarted.InputRecordsLost);
        Assert.Equal(0, restarted.RecordsConsumed);
        Assert.Equal(5, CommittedOffset());
    }

    public void Dispose() => scenario.Dispose();

    /// <summary>Where the task's newest commit marker says to read product views on from (what a restore resumes at; views are the second input).</summary>
    private long CommittedOffset() =>
        scenario.ReadCommitted(scenario.Topics.Changelog)
            .Where(r => CommitMarker.IsMarkerKey(r.Message.Key))
            .Select(r => CommitMarker.Deserialize(r.Message.Value!).NextOffsets[1])
            .LastOrDefault(-1);

    private static string View(int i) =>
        $$"""{"type":"product-viewed","eventId":"v-{{i}}","occurredAt":"{{First.AddMinutes(i).ToString("yyyy-MM-dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture)}}","buyerId":"b-{{i}}","sellerId":"s-1","productId":"p-1","categoryId":"c-1"}""";

    private void ProduceInTransactions(string[][] transactions)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = scenario.Broker.BootstrapServers,
            TransactionalId = $"upstream-{Guid.NewGuid():N}",
        }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        var at = First;
        foreach (var lines in transactions)
        {
            producer.BeginTransaction();
            foreach (var line in lines)
            {
                producer.Produce(scenario.TopicOf(line), new Message<byte[]?, byte[]> { Key = KafkaScenario.KeyOf(line), Value = Encoding.UTF8.GetBytes(line), Timestamp = new Timestamp(at) });
                at = at.AddMilliseconds(1);
            }

            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }
    }

    private long HighWatermark()
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = scenario.Broker.BootstrapServers, GroupId = "watermarks" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(scenario.Topics.ProductsViewed, 0), TimeSpan.FromSeconds(30)).High.Value;
    }
}
