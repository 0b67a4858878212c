using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public class TaskCheckpointCookieTests
{
    private static readonly CommitMarker Marker = new(Epoch: -7, Sequence: 42, Clock: 1_780_000_000_000, NextOffsets: [10, -1, 3, 0], Policy: 0x1234_5678_9abc_def1, Tables: 0x0fed_cba9_8765_4323);

    [Fact]
    public void A_cookie_reads_back_as_written_policy_tables_and_time_included()
    {
        var read = TaskCheckpointCookie.Read(new TaskCheckpointCookie(1_234, 1_790_000_000_000, Marker).Write());

        Assert.Equal((1_234L, (long?)1_790_000_000_000), (read.ChangelogOffset, read.TakenAtMs));
        Assert.Equal(
            (Marker.Epoch, Marker.Sequence, Marker.Clock, Marker.Policy, Marker.Tables),
            (read.Marker.Epoch, read.Marker.Sequence, read.Marker.Clock, read.Marker.Policy, read.Marker.Tables));
        Assert.Equal(Marker.NextOffsets, read.Marker.NextOffsets);
    }

    [Fact]
    public void A_cookie_of_format_2_reads_with_its_time_and_policy_and_the_tables_unknown()
    {
        var read = TaskCheckpointCookie.Read(new TaskCheckpointCookie(1_234, 1_790_000_000_000, Marker).WriteFormat2());

        Assert.Equal((1_234L, (long?)1_790_000_000_000, Marker.Policy, 0UL), (read.ChangelogOffset, read.TakenAtMs, read.Marker.Policy, read.Marker.Tables));
        Assert.Equal((Marker.Sequence, Marker.Clock), (read.Marker.Sequence, read.Marker.Clock));
        Assert.Equal(Marker.NextOffsets, read.Marker.NextOffsets);
    }

    [Fact]
    public void A_cookie_of_format_1_reads_with_no_time_and_no_policy()
    {
        var read = TaskCheckpointCookie.Read(new TaskCheckpointCookie(1_234, 1_790_000_000_000, Marker).WriteFormat1());

        Assert.Equal((1_234L, (long?)null, 0UL), (read.ChangelogOffset, read.TakenAtMs, read.Marker.Policy));
        Assert.Equal((Marker.Sequence, Marker.Clock), (read.Marker.Sequence, read.Marker.Clock));
        Assert.Equal(Marker.NextOffsets, read.Marker.NextOffsets);
    }
}
