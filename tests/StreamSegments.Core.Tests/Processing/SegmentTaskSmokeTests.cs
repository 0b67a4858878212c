using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;
using StreamSegments.Core.Tests.Support;

using static StreamSegments.Core.Tests.Support.EventLines;

namespace StreamSegments.Core.Tests.Processing;

public class SegmentTaskSmokeTests
{
    [Fact]
    public void First_paid_order_makes_the_pair_new_at_the_order_instant_once_that_instant_has_passed()
    {
        var harness = new TaskHarness();

        harness.Send("""{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T10:00:00.000Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":100}""");

        // Another record of the same millisecond may still come.
        Assert.Empty(harness.Sink.Segments);
        harness.AdvanceClockTo("2026-01-01T10:00:00.001Z");
        var change = Assert.Single(harness.Sink.Segments);
        Assert.Equal(("s1", "b1", null, "new", "2026-01-01T10:00:00.000Z"), (change.SellerId, change.BuyerId, change.From, change.To, change.EffectiveAt));
    }

    [Fact]
    public void A_change_carries_the_pairs_last_order_ever_so_a_sleeping_pair_says_which_order_it_sleeps_on()
    {
        var harness = new TaskHarness();
        harness.Send("""{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T10:00:00.000Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":100}""");
        harness.Send("""{"type":"product-viewed","eventId":"e2","occurredAt":"2026-05-01T10:00:00.000Z","buyerId":"b1","sellerId":"s1","productId":"p1","categoryId":"c1"}""");
        harness.AdvanceTo("2027-02-01T00:00:00.000Z");

        // new at the order; sleeping once it leaves the window; interested-products while the later view is in it;
        // sleeping again; none 365 days after the order. Every change names that order as the last ever.
        Assert.Equal(
            [
                (null, "new", "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:00.000Z"),
                ("new", "sleeping", "2026-04-01T10:00:00.000Z", null, "2026-01-01T10:00:00.000Z"),
                ("sleeping", "interested-products", "2026-05-01T10:00:00.000Z", null, "2026-01-01T10:00:00.000Z"),
                ("interested-products", "sleeping", "2026-07-30T10:00:00.000Z", null, "2026-01-01T10:00:00.000Z"),
                ("sleeping", null, "2027-01-01T10:00:00.000Z", null, "2026-01-01T10:00:00.000Z"),
            ],
            harness.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt, c.LastOrderAt, c.LastOrderEverAt)));
    }

    [Fact]
    public void A_buyer_viewing_all_day_keeps_one_timer_entry_and_still_leaves_the_segment_at_its_last_views_window_exit()
    {
        var harness = new TaskHarness();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        // Every view moves the window exit on; a queue entry per view would keep thousands queued for 90 days.
        for (var i = 0; i < 5_000; i++)
        {
            harness.Send($$"""{"type":"product-viewed","eventId":"v{{i}}","occurredAt":"{{start.AddMinutes(10 * i):yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b1","sellerId":"s1","productId":"p1","categoryId":"c1"}""");
            Assert.InRange(harness.Task.Timers.Count, 0, 2);
        }

        var lastView = start.AddMinutes(10 * 4_999);
        harness.AdvanceTo($"{lastView.AddDays(200):yyyy-MM-ddTHH:mm:ss.fffZ}");

        var left = Assert.Single(harness.Sink.Segments, c => c.From == "interested-products");
        Assert.Equal((null, $"{lastView.AddDays(90):yyyy-MM-ddTHH:mm:ss.fffZ}"), (left.To, left.EffectiveAt));
        Assert.Equal(0, harness.Task.Timers.Count);
    }

    [Fact]
    public void A_buyer_past_the_event_id_limit_forgets_its_oldest_ids_and_a_true_copy_of_one_changes_nothing()
    {
        var harness = new TaskHarness(new SegmentPolicy { MaxRememberedEventIds = 100 });
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        string View(int i) =>
            $$"""{"type":"product-viewed","eventId":"v{{i}}","occurredAt":"{{start.AddMinutes(i):yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b1","sellerId":"s{{i % 3}}","productId":"p1","categoryId":"c{{i % 5}}"}""";
        for (var i = 0; i < 1_000; i++)
        {
            Assert.Equal(ApplyOutcome.Applied, harness.Send(View(i)));
        }

        Assert.InRange(harness.Task.Counters.EventIdsForgottenEarly, 900, 910);
        var stored = new BuyerState();
        Assert.True(harness.Store.TryLoad("b1"u8, stored));
        Assert.InRange(stored.SeenCount, 90, 100);
        var changes = harness.Sink.Segments.Count + harness.Sink.Interests.Count;

        Assert.Equal(ApplyOutcome.DuplicateEvent, harness.Send(View(999))); // the newest ids are remembered
        Assert.Equal(ApplyOutcome.Applied, harness.Send(View(0))); // the oldest is forgotten: applied again...
        Assert.Equal(changes, harness.Sink.Segments.Count + harness.Sink.Interests.Count); // ...and changes nothing
    }

    [Fact]
    public void Ids_past_their_time_that_no_prune_removed_yet_do_not_count_against_the_event_id_limit()
    {
        // A removal's id is remembered for the window but sets no timer: nothing prunes it before the buyer's next
        // event. Then 15 views, and a 17th id after the removal's has expired: 16 live ids, the limit exactly.
        var harness = new TaskHarness(new SegmentPolicy { MaxRememberedEventIds = 16 });
        harness.Send(Interaction("cart-item-removed", "r1", "2026-01-01T00:00:00.000Z"));
        for (var i = 0; i < 15; i++)
        {
            harness.Send(Interaction("product-viewed", $"v{i}", $"2026-03-31T00:00:{i:D2}.000Z"));
        }

        Assert.Equal(ApplyOutcome.Applied, harness.Send(Interaction("product-viewed", "v15", "2026-04-02T00:00:00.000Z")));

        Assert.Equal(0, harness.Task.Counters.EventIdsForgottenEarly);
        Assert.Equal(ApplyOutcome.DuplicateEvent, harness.Send(Interaction("product-viewed", "v0", "2026-04-02T00:00:01.000Z")));
    }
}
