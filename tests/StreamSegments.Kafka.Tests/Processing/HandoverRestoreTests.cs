using Microsoft.Extensions.Logging.Abstractions;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class HandoverRestoreTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 1);

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
        var options = scenario.Options(wallClock);
        options.Client["session.timeout.ms"] = "6000"; // the second instance joins the group the first left
        options.Client["heartbeat.interval.ms"] = "500";

        var large = new StateStoreOptions { Directory = Path.Combine(scenario.StateDirectory, "large"), MemoryBudgetBytes = 64L << 20 };
        using (var worker = Start(options, large, wallClock))
        {
            KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Count, () => worker.Failure is not null);
            worker.Stop();
            Assert.Equal(lines.Count, worker.Processor.Counters.RecordsConsumed);
        }

        var small = new StateStoreOptions { Directory = Path.Combine(scenario.StateDirectory, "small"), MemoryBudgetBytes = 8L << 20 };
        using var second = Start(options, small, wallClock);
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

    private RunningWorker Start(SegmentStreamOptions options, StateStoreOptions state, TimeProvider wallClock) =>
        new(new SegmentStreamProcessor(
            options, new SegmentPolicy(), state, scenario.Broker.BootstrapServers, NullLogger<SegmentStreamProcessor>.Instance, wallClock));
}
