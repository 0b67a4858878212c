using Confluent.Kafka;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class InputMergeTests
{
    private const int MaxIdleMs = 2_000;
    private const int CaughtUpIdleMs = 250;
    private const long StrayAheadMs = 1_000;
    private const int Orders = 0;
    private const int Views = 1;
    private const int Carts = 2;

    [Fact]
    public void Records_are_taken_in_timestamp_order_across_the_topics_ties_in_topic_order()
    {
        var merge = Merge();
        merge.Enqueue(Views, Record(10));
        merge.Enqueue(Views, Record(30));
        merge.Enqueue(Orders, Record(20));
        merge.Enqueue(Orders, Record(30));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        var taken = new List<(int Topic, long At)>();
        while (merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out var record))
        {
            taken.Add((topic, record.Message.Timestamp.UnixTimestampMs));
        }

        // The view at 30 waits a moment for an order at 30 that the orders' next batch might still bring.
        Assert.Equal([(Views, 10L), (Orders, 20L), (Orders, 30L)], taken);
        Assert.True(merge.TryTakeNext(CaughtUpIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var last, out var view));
        Assert.Equal((Views, 30L), (last, view.Message.Timestamp.UnixTimestampMs));
        Assert.Equal(0, merge.OutOfOrderEpisodes);
    }

    [Fact]
    public void A_record_stamped_far_ahead_of_those_behind_it_is_a_stray_that_holds_none_of_them_back()
    {
        // The orders' first record claims "now" (a missing timestamp the client filled in); behind it, and in the
        // views, is history.
        var merge = Merge();
        merge.Enqueue(Orders, Record(1_000_000));
        merge.Enqueue(Orders, Record(20));
        merge.Enqueue(Orders, Record(40));
        merge.Enqueue(Views, Record(10));
        merge.Enqueue(Views, Record(30));
        merge.Enqueue(Views, Record(50));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        // The stray ranks as the record behind it (20): it goes where it sits and the rest interleaves as history.
        Assert.Equal([(Views, 10L), (Orders, 1_000_000L), (Orders, 20L), (Views, 30L), (Orders, 40L), (Views, 50L)], TakeAll(merge));
        Assert.Equal(1, merge.Strays);
    }

    [Fact]
    public void A_stray_taken_does_not_end_the_wait_for_its_partition_once_it_is_read_to_its_end()
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(1_000_000));
        merge.Enqueue(Orders, Record(20));
        merge.Enqueue(Views, Record(30));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        Assert.True(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));

        // The orders' next batch may still bring a record before the view at 30: the view waits, as it would have
        // without the stray, whose "now" must not count as how far the orders have come.
        Assert.False(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(CaughtUpIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(Views, topic);
    }

    [Fact]
    public void A_lone_record_far_ahead_of_the_candidate_holds_the_task_until_the_record_behind_it_shows_it_is_a_stray()
    {
        // The orders' first fetch brought only the stray, a batch of its own; their history is in the next one.
        var merge = Merge();
        merge.Enqueue(Orders, Record(1_000_000));
        merge.Enqueue(Views, Record(10));
        merge.Enqueue(Views, Record(30));
        merge.MarkEnd(Views);

        Assert.False(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.False(merge.TryTakeNext(MaxIdleMs - 1, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        merge.Enqueue(Orders, Record(20));
        merge.MarkEnd(Orders);

        Assert.Equal([(Views, 10L), (Orders, 1_000_000L), (Orders, 20L), (Views, 30L)], TakeAll(merge));
        Assert.Equal(1, merge.Strays);
        Assert.Equal(0, merge.OutOfOrderEpisodes);
    }

    [Fact]
    public void A_lone_record_that_may_be_a_stray_holds_the_task_no_longer_than_the_idle_limit_and_giving_up_is_an_episode()
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(1_000_000));
        merge.Enqueue(Views, Record(10));
        merge.MarkEnd(Views);

        Assert.False(merge.TryTakeNext(500, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(500 + MaxIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(Views, topic);
        Assert.Equal(1, merge.OutOfOrderEpisodes);
    }

    [Theory]
    [InlineData(10 + StrayAheadMs, Views)] // within the bound of the view: not a stray whatever is behind it
    [InlineData(5, Orders)] // the candidate itself: taken where it sits, stray or not, it holds nothing back
    public void A_lone_record_that_cannot_rank_before_the_candidate_holds_nothing(long order, int first)
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(order));
        merge.Enqueue(Views, Record(10));
        merge.MarkEnd(Views);

        Assert.True(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(first, topic);
        Assert.Equal(0, merge.OutOfOrderEpisodes);
    }

    [Fact]
    public void An_old_record_in_a_partition_pulls_at_most_the_one_right_before_it_ahead_of_the_other_topics()
    {
        // A late event (stamped with its own, old time) behind records that are in order with the views.
        var merge = Merge();
        foreach (var at in new long[] { 6_000, 6_100, 6_200, 400 })
        {
            merge.Enqueue(Orders, Record(at));
        }

        merge.Enqueue(Views, Record(6_050));
        merge.Enqueue(Views, Record(6_150));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        // Only the record right before it looks like a stray (it cannot tell a record stamped late from one stamped
        // early): it goes one view early, where ranking by the partition's oldest would have taken all three.
        Assert.Equal([(Orders, 6_000L), (Views, 6_050L), (Orders, 6_100L), (Orders, 6_200L), (Orders, 400L), (Views, 6_150L)], TakeAll(merge));
        Assert.Equal(1, merge.Strays);
    }

    [Theory]
    [InlineData(StrayAheadMs, false)]
    [InlineData(StrayAheadMs + 1, true)]
    public void A_record_is_a_stray_only_past_the_bound(long ahead, bool stray)
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(100 + ahead));
        merge.Enqueue(Orders, Record(100));
        merge.Enqueue(Views, Record(100 + ahead - 1));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        Assert.True(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(stray ? Orders : Views, topic);
        Assert.Equal(stray ? 1 : 0, merge.Strays);
    }

    [Fact]
    public void A_record_ahead_of_those_behind_it_by_no_more_than_producer_skew_keeps_its_own_rank()
    {
        // Two producers' clocks a moment apart: the later event went first. The view between them comes before it,
        // so that only the order behind it is late.
        var merge = Merge();
        merge.Enqueue(Orders, Record(1_000));
        merge.Enqueue(Orders, Record(400));
        merge.Enqueue(Views, Record(700));
        merge.MarkEnd(Orders);
        merge.MarkEnd(Views);

        Assert.Equal([(Views, 700L), (Orders, 1_000L), (Orders, 400L)], TakeAll(merge));
    }

    /// <summary>Every record, in the order taken, letting the brief waits for partitions read to their end run out.</summary>
    private static List<(int Topic, long At)> TakeAll(InputMerge merge)
    {
        var taken = new List<(int Topic, long At)>();
        for (long now = 0, waits = 0; waits < 2; now += CaughtUpIdleMs)
        {
            if (merge.TryTakeNext(now, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out var record))
            {
                taken.Add((topic, record.Message.Timestamp.UnixTimestampMs));
                waits = 0;
            }
            else
            {
                waits++;
            }
        }

        return taken;
    }

    [Fact]
    public void A_partition_with_nothing_fetched_holds_the_task_for_the_idle_limit_and_giving_up_is_one_out_of_order_episode()
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(10));
        merge.Enqueue(Orders, Record(11));

        Assert.False(merge.TryTakeNext(1_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.False(merge.TryTakeNext(1_000 + MaxIdleMs - 1, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(1_000 + MaxIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(1_000 + MaxIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.Equal(1, merge.OutOfOrderEpisodes);

        // Once every partition has records again the episode is over; a later wait that runs out is a second one.
        merge.Enqueue(Views, Record(12));
        merge.Enqueue(Orders, Record(13));
        Assert.True(merge.TryTakeNext(5_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(Views, topic);
        Assert.False(merge.TryTakeNext(6_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(6_000 + MaxIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.Equal(2, merge.OutOfOrderEpisodes);
    }

    [Theory]
    [InlineData(40)] // newer than the newest order
    [InlineData(30)] // as new, and views come after orders in topic order (as in a replay)
    public void A_partition_read_to_its_end_holds_the_task_briefly_only_for_a_record_its_next_one_could_precede_and_that_is_no_episode(long view)
    {
        var merge = Merge();
        merge.Enqueue(Orders, Record(30));
        merge.Enqueue(Views, Record(view));
        Assert.True(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(Orders, topic);
        merge.MarkEnd(Orders);

        // Orders read to their end at 30: the view may yet have an order before it, from a producer's next batch.
        Assert.False(merge.TryTakeNext(100, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(100 + CaughtUpIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out topic, out _));
        Assert.Equal(Views, topic);

        // A late view, older than the newest order: nothing earlier can come from the orders, so no wait.
        merge.Enqueue(Views, Record(25));
        Assert.True(merge.TryTakeNext(1_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out topic, out _));
        Assert.Equal(Views, topic);
        Assert.Equal(0, merge.OutOfOrderEpisodes);
    }

    [Fact]
    public void A_partition_whose_buffer_runs_dry_gets_its_own_wait_however_long_a_silent_one_held_the_task()
    {
        var merge = new InputMerge(inputTopics: 3);
        merge.Assign(Orders);
        merge.Assign(Views);
        merge.Assign(Carts);

        // Carts: read to its end, nothing in it (a silent topic). Orders and views stream.
        merge.MarkEnd(Carts);
        merge.Enqueue(Orders, Record(10));
        merge.Enqueue(Orders, Record(15));
        merge.Enqueue(Views, Record(20));

        // The silent carts partition holds the first record for CaughtUpIdleMs, then the task goes on.
        Assert.False(merge.TryTakeNext(0, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.True(merge.TryTakeNext(CaughtUpIdleMs, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out var topic, out _));
        Assert.Equal(Orders, topic);
        Assert.True(merge.TryTakeNext(3_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out topic, out _));
        Assert.Equal(Orders, topic);

        // The orders buffer ran dry with its next fetch in flight: the view at 20 waits for it, for MaxIdleMs from now.
        Assert.False(merge.TryTakeNext(3_000, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        Assert.False(merge.TryTakeNext(3_000 + MaxIdleMs - 1, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out _, out _));
        merge.Enqueue(Orders, Record(18));
        Assert.True(merge.TryTakeNext(3_000 + MaxIdleMs - 1, MaxIdleMs, CaughtUpIdleMs, StrayAheadMs, out topic, out var record));
        Assert.Equal((Orders, 18L), (topic, record.Message.Timestamp.UnixTimestampMs));
        Assert.Equal(0, merge.OutOfOrderEpisodes);
    }

    private static InputMerge Merge()
    {
        var merge = new InputMerge(inputTopics: 2);
        merge.Assign(Orders);
        merge.Assign(Views);
        return merge;
    }

    private static ConsumeResult<byte[]?, byte[]?> Record(long timestampMs) => new()
    {
        Message = new Message<byte[]?, byte[]?> { Timestamp = new Timestamp(timestampMs, TimestampType.CreateTime) },
    };
}
