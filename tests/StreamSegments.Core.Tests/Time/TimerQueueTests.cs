using System.Text;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Time;

public class TimerQueueTests
{
    [Fact]
    public void Entries_come_out_by_due_instant_then_by_buyer_id_and_a_repeated_entry_once()
    {
        var queue = new TimerQueue();
        queue.Schedule("b2"u8, 20);
        queue.Schedule("b1"u8, 20);
        queue.Schedule("b10"u8, 20);
        queue.Schedule("b3"u8, 10);
        queue.Schedule("b1"u8, 20);
        queue.Schedule("b1"u8, 30);

        Assert.Equal(["10 b3", "20 b1", "20 b10", "20 b2"], TakeDue(queue, until: 29));
        Assert.Equal(["30 b1"], TakeDue(queue, until: 30));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Ids_of_any_length_survive_slot_reuse()
    {
        var queue = new TimerQueue();
        var longId = new string('x', 200);
        queue.Schedule(Encoding.UTF8.GetBytes(longId), 5);
        queue.Schedule("short"u8, 6);
        Assert.Equal(["5 " + longId], TakeDue(queue, until: 5));

        // The slot the long id held is reused for a short one; its side array must not leak into it.
        queue.Schedule("b-reused"u8, 7);
        queue.Schedule(Encoding.UTF8.GetBytes(longId + "y"), 8);
        Assert.Equal(["6 short", "7 b-reused", "8 " + longId + "y"], TakeDue(queue, until: 8));
    }

    [Fact]
    public void Peeking_lists_the_due_buyers_earliest_first_and_leaves_the_queue_as_it_was()
    {
        var queue = new TimerQueue();
        for (var i = 0; i < 10; i++)
        {
            queue.Schedule(Encoding.UTF8.GetBytes($"b{i}"), 100 - i);
        }

        var peeked = new List<string>();
        queue.PeekDue(95, limit: 3, peeked, static (id, list) => list.Add(Encoding.UTF8.GetString(id)));

        Assert.Equal(["b9", "b8", "b7"], peeked);
        Assert.Equal(10, queue.Count);
        Assert.Equal(91, queue.NextDue);
        Assert.Equal(["91 b9", "92 b8", "93 b7", "94 b6", "95 b5"], TakeDue(queue, until: 95));
    }

    [Fact]
    public void Entries_scheduled_after_a_peek_still_come_out_in_order_with_the_peeked_ones()
    {
        var queue = new TimerQueue();
        queue.Schedule("b1"u8, 10);
        queue.Schedule("b2"u8, 30);
        queue.Schedule("b3"u8, 50);
        queue.PeekDue(40, limit: 10, 0, static (_, _) => { });

        queue.Schedule("b4"u8, 20);
        queue.Schedule("b5"u8, 40);
        queue.Schedule("b2"u8, 30);
        queue.PeekDue(45, limit: 10, 0, static (_, _) => { });
        queue.Schedule("b0"u8, 5);

        Assert.Equal(7, queue.Count);
        Assert.Equal(5, queue.NextDue);
        Assert.Equal(["5 b0", "10 b1", "20 b4", "30 b2", "40 b5", "50 b3"], TakeDue(queue, until: 50));
    }

    [Fact]
    public void Random_schedules_peeks_and_takes_come_out_as_from_a_sorted_set()
    {
        var random = new Random(3);
        var queue = new TimerQueue();
        var reference = new SortedSet<(long Due, string Id)>(Comparer<(long Due, string Id)>.Create((x, y) =>
            x.Due != y.Due ? x.Due.CompareTo(y.Due) : string.CompareOrdinal(x.Id, y.Id)));
        long clock = 0;
        for (var step = 0; step < 20_000; step++)
        {
            var roll = random.Next(10);
            if (roll < 6)
            {
                // Few distinct instants and ids, so that ties and repeated entries are common.
                var (due, id) = (clock + random.Next(0, 50), $"b{random.Next(300)}");
                queue.Schedule(Encoding.UTF8.GetBytes(id), due);
                reference.Add((due, id));
            }
            else if (roll < 7)
            {
                queue.PeekDue(clock + random.Next(0, 50), limit: random.Next(1, 20), 0, static (_, _) => { });
            }
            else
            {
                clock += random.Next(0, 10);
                var expected = reference.Where(e => e.Due <= clock).Select(e => $"{e.Due} {e.Id}").ToList();
                reference.RemoveWhere(e => e.Due <= clock);
                Assert.Equal(expected, TakeDue(queue, clock));
                Assert.Equal(reference.Count == 0 ? EventTime.None : reference.Min.Due, queue.NextDue);
            }
        }
    }

    private static List<string> TakeDue(TimerQueue queue, long until)
    {
        var taken = new List<string>();
        while (queue.TryTakeDue(until, out var buyerId, out var due))
        {
            taken.Add($"{due} {Encoding.UTF8.GetString(buyerId)}");
        }

        return taken;
    }
}
