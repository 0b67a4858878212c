using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public class CatchUpProgressTests
{
    [Fact]
    public void A_report_comes_once_per_interval_while_records_are_left_with_the_rate_since_the_last_and_the_time_left_at_it()
    {
        var progress = new CatchUpProgress(everyMs: 60_000);

        Assert.Null(progress.Due(nowMs: 59_999, consumedTotal: 500_000, left: 1_000_000));
        Assert.Equal((600_000L, 10_000.0, 1_200_000L, (TimeSpan?)TimeSpan.FromMinutes(2)), progress.Due(nowMs: 60_000, consumedTotal: 600_000, left: 1_200_000));
        Assert.Null(progress.Due(nowMs: 90_000, consumedTotal: 900_000, left: 900_000));
        Assert.Equal((0L, 0.0, 5L, (TimeSpan?)null), progress.Due(nowMs: 120_000, consumedTotal: 600_000, left: 5)); // stuck: no estimate
    }

    [Fact]
    public void Nothing_is_reported_once_caught_up()
    {
        var progress = new CatchUpProgress(everyMs: 60_000);

        Assert.Null(progress.Due(nowMs: 60_000, consumedTotal: 600_000, left: 0));
    }

    [Fact]
    public void Live_traffic_in_flight_is_no_catch_up_but_more_than_ten_seconds_of_reading_is()
    {
        var progress = new CatchUpProgress(everyMs: 60_000);

        // 500 records/s: the few records produced since the last poll are not a backlog.
        Assert.Null(progress.Due(nowMs: 60_000, consumedTotal: 30_000, left: 3));
        Assert.Null(progress.Due(nowMs: 120_000, consumedTotal: 60_000, left: 5_000));
        Assert.Equal((30_000L, 500.0, 5_001L, (TimeSpan?)TimeSpan.FromSeconds(10)), progress.Due(nowMs: 180_000, consumedTotal: 90_000, left: 5_001));
    }
}
