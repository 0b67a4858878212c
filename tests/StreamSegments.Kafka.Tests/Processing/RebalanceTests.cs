using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class RebalanceTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 1);

    [Fact]
    public void A_partition_paused_for_a_full_buffer_is_fetched_again_when_a_rebalance_hands_it_back()
    {
        // One order, then views, a cart and a favorite event of later instants: the task takes the order, then holds
        // the rest back while the orders partition, read to its end, may still deliver an older record
        // (CaughtUpIdleMs, long here; the run's last records wait it out too). The views' buffer fills and their
        // partition is paused.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        const int Views = 200;
        const int Records = 1 + Views + 2 + 4;
        scenario.Produce(
            [
                Order("o-1", start),
                .. Enumerable.Range(1, Views).Select(i => Interaction("product-viewed", i, start.AddMinutes(i))),
                Interaction("cart-item-added", Views + 1, start.AddMinutes(Views + 1)),
                Interaction("favorite-added", Views + 2, start.AddMinutes(Views + 2)),
            ],
            start);
        var options = scenario.Options(successiveRuns: true); // a member leaving must not keep the group waiting
        options.MaxBufferedPerPartition = 16;
        options.CaughtUpIdleMs = 15_000; // long enough for the rebalance below to happen during the hold
        options.MaxTaskIdleMs = 600_000;

        var log = new RecordingLogger<SegmentStreamProcessor>(LogLevel.Information);
        using var worker = scenario.StartWorker(options, logger: log);
        var processor = worker.Processor;
        KafkaScenario.WaitFor(() => processor.Counters.RecordsConsumed == 1 && processor.Counters.Commits > 0, "the order to be processed");
        Thread.Sleep(1_000);
        Assert.Equal(1, processor.Counters.RecordsConsumed);

        // Another member joins the group (everything is revoked and handed out again) and leaves (everything
        // comes back to the worker): either way the worker is assigned the paused views partition anew.
        using (var member = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = scenario.Broker.BootstrapServers,
            GroupId = options.GroupId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
            EnableAutoCommit = false, // it must not move the group's offsets
            SessionTimeoutMs = 6_000,
            HeartbeatIntervalMs = 500,
        }).Build())
        {
            member.Subscribe(options.Topics.Inputs);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (member.Assignment.Count == 0 && processor.Counters.Restores < 2 && DateTime.UtcNow < deadline)
            {
                member.Consume(TimeSpan.FromMilliseconds(100));
            }

            member.Close();
        }

        // A record newer than everything on each input ends the wait; then every view must be fetched and processed.
        var later = start.AddDays(1);
        scenario.Produce(
            [
                Order("o-2", later), Interaction("product-viewed", Views + 3, later),
                Interaction("cart-item-added", Views + 4, later), Interaction("favorite-added", Views + 5, later),
            ],
            later);
        KafkaScenario.WaitUntilQuiet(processor, expectedInputRecords: Records, () => worker.Failure is not null);
        Assert.Null(worker.Failure);
        Assert.True(processor.Counters.Restores >= 2, $"no rebalance happened ({processor.Counters.Restores} restores)");
        var lastMarker = scenario.ReadCommitted(options.Topics.Changelog).Where(r => CommitMarker.IsMarkerKey(r.Message.Key)).Select(r => CommitMarker.Deserialize(r.Message.Value)).LastOrDefault();
        Assert.True(
            Records == processor.Counters.RecordsConsumed,
            $"{processor.Counters.RecordsConsumed} of {Records} records processed, committed up to offsets {string.Join(",", lastMarker?.NextOffsets ?? [])}; the worker's log:\n{log}");
        worker.Stop();
    }

    [Fact]
    public void A_task_handed_to_an_instance_with_a_smaller_memory_budget_restores_a_large_buyer_the_first_instance_wrote()
    {
        // A reseller's 8,000 orders from one seller within the window: about 200 KB of state. An instance with 64 MiB
        // per task (2 MiB pages, parts of up to 256 KiB) stores and publishes it as one record; an instance with 8 MiB
        // per task (256 KiB pages) would split it into 64 KiB parts itself, and must be able to restore it either way.
        var first = new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var lines = Enumerable.Range(0, 8_000).Select(i =>
            $$"""{"type":"order-paid","eventId":"e-{{i}}","occurredAt":"{{first.AddMinutes(i):yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b-1","sellerId":"s-1","orderId":"o-{{i}}","amount":100}""").ToList();
        scenario.Produce(lines, first);
        var wallClock = new StoppedClock(first.AddDays(10));
        var options = scenario.Options(wallClock, successiveRuns: true);

        var large = new StateStoreOptions { Directory = Path.Combine(scenario.StateDirectory, "large"), MemoryBudgetBytes = 64L << 20 };
        using (var worker = scenario.StartWorker(options, wallClock, state: large))
        {
            KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Count, () => worker.Failure is not null);
            worker.Stop();
            Assert.Equal(lines.Count, worker.Processor.Counters.RecordsConsumed);
        }

        var small = new StateStoreOptions { Directory = Path.Combine(scenario.StateDirectory, "small"), MemoryBudgetBytes = 8L << 20 };
        using var second = scenario.StartWorker(options, wallClock, state: small);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (second.Processor.Counters.Restores == 0 && second.Failure is null && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        Assert.Null(second.Failure);
        Assert.Equal(1, second.Processor.Counters.Restores);
        Assert.True(second.Processor.Counters.RecordsRestored > 0);

        // And it goes on from there: a re-sent order is recognised (the restored buyer is whole).
        scenario.Produce([lines[^1]], first.AddDays(1));
        KafkaScenario.WaitUntilQuiet(second.Processor, 1, () => second.Failure is not null);
        second.Stop();
        Assert.Equal(1, second.Processor.Counters.Duplicates);
    }

    public void Dispose() => scenario.Dispose();

    private static string Order(string id, DateTimeOffset at) =>
        $$"""{"type":"order-paid","eventId":"e-{{id}}","occurredAt":"{{at:yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b-1","sellerId":"s-1","orderId":"{{id}}","amount":10.00,"currency":"RUB","items":[{"productId":"p-1","categoryId":"c-1","quantity":1,"price":10.00}]}""";

    private static string Interaction(string type, int i, DateTimeOffset at) =>
        $$"""{"type":"{{type}}","eventId":"v-{{i}}","occurredAt":"{{at:yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b-{{i}}","sellerId":"s-1","productId":"p-1","categoryId":"c-1"}""";
}
