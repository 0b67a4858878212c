using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class LateRecordsTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 1);

    [Fact]
    public void A_report_is_due_only_for_a_record_later_than_the_bound_and_at_most_once_per_interval()
    {
        var late = new LateRecords();
        late.Add(5_000);
        Assert.Null(late.Due(nowMs: 0, everyMs: 600_000, farMs: 3_600_000)); // stragglers of live traffic

        late.Add(7_200_000);
        Assert.Equal((2L, 7_200_000L, 2L), late.Due(nowMs: 0, everyMs: 600_000, farMs: 3_600_000));

        late.Add(9_000_000);
        Assert.Null(late.Due(nowMs: 599_999, everyMs: 600_000, farMs: 3_600_000));
        Assert.Equal((1L, 9_000_000L, 3L), late.Due(nowMs: 600_000, everyMs: 600_000, farMs: 3_600_000));
    }

    [Fact]
    public void A_record_that_reaches_the_topics_hours_after_a_later_one_is_counted_and_reported_as_late()
    {
        // The view happened three hours before the order but was produced after it (its record timestamp is later).
        string[] lines =
        [
            """{"type":"order-paid","eventId":"e-1","occurredAt":"2026-06-01T12:00:00.000Z","buyerId":"b-1","sellerId":"s-1","orderId":"o-1","amount":100}""",
            """{"type":"product-viewed","eventId":"e-2","occurredAt":"2026-06-01T09:00:00.000Z","buyerId":"b-1","sellerId":"s-2","productId":"p-1","categoryId":"c-1"}""",
        ];
        scenario.Produce(lines, new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var options = scenario.Options();
        options.FollowWallClockWithinMs = 3_600_000;
        var logger = new RecordingLogger<SegmentStreamProcessor>();

        using var worker = scenario.StartWorker(options, logger: logger);
        KafkaScenario.WaitUntilQuiet(worker.Processor, lines.Length, () => worker.Failure is not null);
        worker.Stop();

        Assert.Null(worker.Failure);
        Assert.Equal(1, worker.Processor.Counters.LateRecords);
        Assert.Single(logger.Lines, line => line.StartsWith("Warning: Task 0 applied 1 records since the last report that were older than its clock, up to 03:00:00", StringComparison.Ordinal));
    }

    public void Dispose() => scenario.Dispose();
}
