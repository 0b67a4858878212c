using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public class RunningTotalTests
{
    [Fact]
    public void The_warning_names_the_running_total_at_most_once_per_interval_and_only_when_more_were_forgotten()
    {
        var forgotten = new RunningTotal();

        Assert.Null(forgotten.Due(nowMs: 0, total: 0));
        Assert.Equal(900L, forgotten.Due(nowMs: 1_000, total: 900));
        Assert.Null(forgotten.Due(nowMs: 1_000 + RepeatedWarning.EveryMs - 1, total: 1_800)); // too soon
        Assert.Equal(1_800L, forgotten.Due(nowMs: 1_000 + RepeatedWarning.EveryMs, total: 1_800));
        Assert.Null(forgotten.Due(nowMs: 1_000 + (3 * RepeatedWarning.EveryMs), total: 1_800)); // nothing new
    }
}
