using System.Text;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public class CommittedOutputsTests
{
    private static readonly long EpochA = 0x1234_5678_9abc_def0;
    private static readonly long EpochB = 0x0fed_cba9_8765_4321;

    private readonly MovableClock clock = new(DateTimeOffset.Parse("2026-11-30T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly List<string> released = [];

    [Fact]
    public void A_record_is_held_until_a_marker_of_its_incarnation_seals_its_commit_or_a_later_one()
    {
        var outputs = new CommittedOutputs<string>(TimeSpan.FromSeconds(60), clock);

        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochA, 1), "a1"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochA, 2), "a2"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochA, 1), "a1'"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochA, 3), "a3"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochB, 1), "b1"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(1, EpochA, 1), "other task"));

        // Sequence 2's marker seals 1 and 2 (commits of one incarnation complete in order), not 3, nor another
        // incarnation's or another task's.
        outputs.Seal(Id(0, EpochA, 2), released);
        Assert.Equal(["a1", "a1'", "a2"], released);
        Assert.Equal(3, outputs.HeldCount);

        // A record of a sealed commit that arrives after its marker (another partition) is committed at once.
        Assert.Equal(OutputCommitState.Committed, outputs.Offer(Id(0, EpochA, 2), "a2 late"));
        Assert.Equal(OutputCommitState.Held, outputs.Offer(Id(0, EpochA, 4), "a4"));

        // An older marker, read after a newer one, seals nothing more and releases nothing twice.
        released.Clear();
        outputs.Seal(Id(0, EpochA, 1), released);
        Assert.Empty(released);
        outputs.Seal(Id(0, EpochA, 4), released);
        Assert.Equal(["a3", "a4"], released);
        Assert.Equal(2, outputs.HeldCount);
    }

    [Fact]
    public void A_commit_no_marker_sealed_within_the_give_up_time_of_its_first_record_is_dropped()
    {
        var outputs = new CommittedOutputs<string>(TimeSpan.FromSeconds(60), clock);
        outputs.Offer(Id(0, EpochA, 7), "killed before its marker");
        clock.Now = clock.Now.AddSeconds(30);
        outputs.Offer(Id(0, EpochB, 1), "newer");

        clock.Now = clock.Now.AddSeconds(29);
        Assert.Equal(0, outputs.GiveUpStale());
        clock.Now = clock.Now.AddSeconds(1);
        Assert.Equal(1, outputs.GiveUpStale());
        Assert.Equal(1, outputs.HeldCount);
        Assert.Equal(1, outputs.GivenUpCount);

        // Given up means gone: a marker arriving after all that releases only what is still held.
        outputs.Seal(Id(0, EpochA, 7), released);
        outputs.Seal(Id(0, EpochB, 1), released);
        Assert.Equal(["newer"], released);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0:1234")]
    [InlineData("x:00000000000000aa:1")]
    [InlineData("0:zz:1")]
    [InlineData("0:00000000000000aa:")]
    public void A_record_that_names_no_commit_is_neither_held_nor_committed(string commitId)
    {
        var outputs = new CommittedOutputs<string>(TimeSpan.FromSeconds(60), clock);
        Assert.Equal(OutputCommitState.NoCommit, outputs.Offer(Encoding.UTF8.GetBytes(commitId), "record"));
        outputs.Seal(Encoding.UTF8.GetBytes(commitId), released);
        Assert.Empty(released);
        Assert.Equal(0, outputs.HeldCount);
    }

    private static byte[] Id(int task, long epoch, long sequence) => Encoding.UTF8.GetBytes(CommitMarker.CommitId(task, epoch, sequence));
}
