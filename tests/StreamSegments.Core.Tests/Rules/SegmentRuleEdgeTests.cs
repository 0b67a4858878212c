using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Tests.Support;
using StreamSegments.Core.Time;
using static StreamSegments.Core.Tests.Support.EventLines;

namespace StreamSegments.Core.Tests.Rules;

/// <summary>Every rule of shared/segment-rules.md at its edges, to the millisecond. Expected instants are worked out by hand.</summary>
public class SegmentRuleEdgeTests
{
    private static List<(string? From, string? To, string At)> Changes(TaskHarness h) =>
        h.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt)).ToList();

    [Fact]
    public void An_order_is_in_the_window_until_the_millisecond_before_t_plus_90_days_and_leaves_exactly_then()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 100));

        // 2026-01-01 + 90 days = 2026-04-01 (31 + 28 + 31 days).
        h.AdvanceTo("2026-03-31T23:59:59.999Z");
        Assert.Equal([(null, "new", "2026-01-01T00:00:00.000Z")], Changes(h));

        h.AdvanceTo("2026-04-01T00:00:00.000Z");
        var last = h.Sink.Segments[^1];
        Assert.Equal(("new", "sleeping", "2026-04-01T00:00:00.000Z", ChangeCause.WindowExit), (last.From, last.To, last.EffectiveAt, last.Cause));
    }

    [Fact]
    public void A_past_buyer_sleeps_until_exactly_365_days_after_the_last_order()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2025-01-01T00:00:00.000Z", 100));

        h.AdvanceTo("2025-12-31T23:59:59.999Z");
        Assert.Equal("sleeping", h.Sink.Segments[^1].To);

        h.AdvanceTo("2026-01-01T00:00:00.000Z");
        var last = h.Sink.Segments[^1];
        Assert.Equal(("sleeping", null, "2026-01-01T00:00:00.000Z", ChangeCause.SleepingHorizon), (last.From, last.To, last.EffectiveAt, last.Cause));
        Assert.Equal(0, h.Store.Count);
    }

    [Fact]
    public void Regular_top_becomes_loyal_exactly_30_days_after_the_last_order()
    {
        // Five orders of 6000: R1 F2 M1, S = 4, top. The last is on 2026-01-05, so R2 (S = 5, loyal) from 2026-02-04.
        var h = new TaskHarness();
        for (var i = 0; i < 5; i++)
        {
            h.Send(Order($"e{i}", $"2026-01-0{i + 1}T00:00:00.000Z", 6000));
        }

        h.AdvanceTo("2026-02-03T23:59:59.999Z");
        Assert.Equal("regular-top", h.Sink.Segments[^1].To);

        h.AdvanceTo("2026-02-04T00:00:00.000Z");
        var last = h.Sink.Segments[^1];
        Assert.Equal(("regular-top", "regular-loyal", "2026-02-04T00:00:00.000Z", ChangeCause.Recency), (last.From, last.To, last.EffectiveAt, last.Cause));
        Assert.Equal("R2F2M1", last.Rfm);
    }

    [Fact]
    public void Recency_60_days_turns_a_loyal_regular_risky()
    {
        var h = new TaskHarness();
        for (var i = 0; i < 5; i++)
        {
            h.Send(Order($"e{i}", $"2026-01-0{i + 1}T00:00:00.000Z", 2000));
        }

        Assert.Equal("regular-loyal", h.Sink.Segments[^1].To);
        h.AdvanceTo("2026-03-06T00:00:00.000Z");

        // 2026-01-05 + 60 days = 2026-03-06: R3F2M2 = 7.
        var risky = h.Sink.Segments.Single(c => c.To == "regular-risky");
        Assert.Equal(("regular-loyal", "2026-03-06T00:00:00.000Z"), (risky.From, risky.EffectiveAt));
    }

    [Theory]
    [InlineData(4, "R1F3M1")]
    [InlineData(5, "R1F2M1")]
    [InlineData(7, "R1F2M1")]
    [InlineData(8, "R1F1M1")]
    public void Frequency_scores_change_at_5_and_8_orders(int orders, string rfm)
    {
        var h = new TaskHarness();
        for (var i = 0; i < orders; i++)
        {
            h.Send(Order($"e{i}", $"2026-01-{i + 1:D2}T00:00:00.000Z", 5000));
        }

        Assert.Equal(rfm, h.Sink.Segments.Count > 0 ? h.Snapshot("2026-01-10T00:00:00.000Z").Single().Rfm : null);
    }

    [Theory]
    [InlineData("1999.99", "2000.00", "2000.01", "M2")]
    [InlineData("1999.99", "1999.99", "2000.01", "M3")]
    [InlineData("4999.99", "5000.00", "5000.01", "M1")]
    [InlineData("4999.99", "4999.99", "5000.01", "M2")]

    // 28 significant digits each (exact in decimal), but a total of 32: a decimal sum rounds it up to 6000 (aov 2000).
    [InlineData("5999.999999999999999999999999", "0.0000000000000000000000009999", "0", "M3")]
    [InlineData("5999.999999999999999999999999", "0.0000000000000000000000010000", "0", "M2")]
    [InlineData("5999.999999999999999999999999", "0.000000000000000000000001", "0", "M2")]
    public void Monetary_scores_compare_the_exact_average_with_2000_and_5000(string a, string b, string c, string expected)
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", decimal.Parse(a, System.Globalization.CultureInfo.InvariantCulture)));
        h.Send(Order("e2", "2026-01-02T00:00:00.000Z", decimal.Parse(b, System.Globalization.CultureInfo.InvariantCulture)));
        h.Send(Order("e3", "2026-01-03T00:00:00.000Z", decimal.Parse(c, System.Globalization.CultureInfo.InvariantCulture)));

        Assert.EndsWith(expected, h.Snapshot("2026-01-03T00:00:00.000Z").Single().Rfm, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5000, "regular-top")]
    [InlineData(2000, "regular-loyal")]
    [InlineData(100, "regular-risky")]
    public void The_sum_of_scores_splits_regulars_at_4_and_6(int amount, string segment)
    {
        // Five orders (F2), the last just now (R1): S = 3 + M, so M1 gives 4 (top), M2 gives 5 and M3 gives 6 (loyal);
        // 30 days later R2 makes M3's S = 7 (risky).
        var h = new TaskHarness();
        for (var i = 0; i < 5; i++)
        {
            h.Send(Order($"e{i}", $"2026-01-0{i + 1}T00:00:00.000Z", amount));
        }

        h.AdvanceTo("2026-01-05T00:00:00.000Z");
        var expected = segment == "regular-risky" ? "regular-loyal" : segment;
        Assert.Equal(expected, h.Sink.Segments[^1].To);
        if (segment == "regular-risky")
        {
            h.AdvanceTo("2026-02-04T00:00:00.000Z");
            Assert.Equal("regular-risky", h.Sink.Segments[^1].To);
        }
    }

    [Fact]
    public void Two_orders_make_returning_and_precedence_puts_orders_before_interest_and_interest_before_sleeping()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2025-01-01T00:00:00.000Z", 10));
        h.AdvanceTo("2025-06-01T00:00:00.000Z");
        Assert.Equal("sleeping", h.Sink.Segments[^1].To);

        h.Send(Interaction("product-viewed", "e2", "2025-06-01T00:00:00.000Z"));
        h.AdvanceClockTo("2025-06-01T00:00:00.001Z");
        Assert.Equal(("sleeping", "interested-products"), (h.Sink.Segments[^1].From, h.Sink.Segments[^1].To));

        h.Send(Order("e3", "2025-06-02T00:00:00.000Z", 10));
        h.AdvanceClockTo("2025-06-02T00:00:00.001Z");
        Assert.Equal(("interested-products", "new"), (h.Sink.Segments[^1].From, h.Sink.Segments[^1].To));

        h.Send(Order("e4", "2025-06-03T00:00:00.000Z", 10));
        h.AdvanceClockTo("2025-06-03T00:00:00.001Z");
        Assert.Equal(("new", "returning"), (h.Sink.Segments[^1].From, h.Sink.Segments[^1].To));
    }

    [Fact]
    public void A_duplicate_event_id_and_a_re_sent_order_id_are_ignored()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, orderId: "o1"));

        Assert.Equal(ApplyOutcome.DuplicateEvent, h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, orderId: "o1")));
        Assert.Equal(ApplyOutcome.DuplicateOrder, h.Send(Order("e2", "2026-01-05T00:00:00.000Z", 10, orderId: "o1")));
        Assert.Single(h.Sink.Segments);
        Assert.Equal("R1F3M3", h.Snapshot("2026-01-05T00:00:00.000Z").Single().Rfm);
        Assert.Equal((1, 1), (h.Task.Counters.DuplicateEvents, h.Task.Counters.DuplicateOrders));
    }

    [Fact]
    public void An_order_id_is_remembered_until_the_horizon_after_its_order_and_an_event_id_until_its_event_leaves_the_window()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, orderId: "o1"));
        h.Send(Order("e2", "2026-11-01T00:00:00.000Z", 10, orderId: "o2"));
        h.Send(Interaction("cart-item-removed", "e3", "2026-11-01T00:00:01.000Z"));

        // o1 + 365 days = 2027-01-01; e3 + 90 days = 2027-01-30T00:00:01.
        Assert.Equal(ApplyOutcome.DuplicateOrder, h.Send(Order("e4", "2026-12-31T23:59:59.999Z", 10, orderId: "o1")));
        Assert.Equal(ApplyOutcome.Applied, h.Send(Order("e5", "2027-01-01T00:00:00.000Z", 10, orderId: "o1")));
        Assert.Equal(ApplyOutcome.DuplicateEvent, h.Send(Interaction("cart-item-removed", "e3", "2027-01-30T00:00:00.999Z")));
        Assert.Equal(ApplyOutcome.Applied, h.Send(Interaction("cart-item-removed", "e3", "2027-01-30T00:00:01.000Z")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void When_a_re_sent_id_counts_again_depends_on_time_alone_not_on_the_buyers_other_events(bool otherEventsBetween)
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, orderId: "o1"));
        h.Send(Order("e2", "2026-11-01T00:00:00.000Z", 10, orderId: "o2"));
        h.Send(Interaction("cart-item-removed", "e3", "2026-11-01T00:00:01.000Z"));

        // No boundary of the buyer falls between o1's forgetting (2027-01-01) and its re-send, nor between e3's
        // (2027-01-30T00:00:01) and its own: only another event of the buyer would have pruned them before.
        if (otherEventsBetween)
        {
            h.Send(Interaction("product-viewed", "v1", "2027-01-02T00:00:00.000Z", seller: "s9"));
        }

        Assert.Equal(ApplyOutcome.Applied, h.Send(Order("e4", "2027-01-03T00:00:00.000Z", 10, orderId: "o1")));
        if (otherEventsBetween)
        {
            h.Send(Interaction("product-viewed", "v2", "2027-02-01T00:00:00.000Z", seller: "s9"));
        }

        Assert.Equal(ApplyOutcome.Applied, h.Send(Interaction("cart-item-removed", "e3", "2027-02-02T00:00:00.000Z")));
        h.AdvanceTo("2027-02-02T00:00:00.000Z");
        Assert.Contains(("new", "returning", "2027-01-03T00:00:00.000Z"), h.Sink.Segments.Where(c => c.SellerId == "s1").Select(c => (c.From, c.To, c.EffectiveAt)));
        Assert.Equal((0, 0), (h.Task.Counters.DuplicateEvents, h.Task.Counters.DuplicateOrders));
    }

    [Fact]
    public void A_re_published_order_is_ignored_with_its_items_so_it_teaches_the_seller_no_category()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, seller: "s1", orderId: "o1", category: "c1"));
        Assert.Equal(ApplyOutcome.DuplicateOrder, h.Send(Order("e2", "2026-01-01T00:00:00.000Z", 10, seller: "s1", orderId: "o1", category: "c2")));
        h.Send(Interaction("product-viewed", "e3", "2026-01-02T00:00:00.000Z", category: "c2", seller: "s2", buyer: "b2"));

        // c2 appeared with s1 only in the ignored order: b2's interest in c2 says nothing about s1.
        Assert.DoesNotContain(h.Snapshot("2026-01-03T00:00:00.000Z"), r => r is { SellerId: "s1", BuyerId: "b2" });
    }

    [Fact]
    public void The_same_order_id_at_another_seller_is_another_order()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, seller: "s1", orderId: "o1"));
        h.Send(Order("e2", "2026-01-01T00:00:01.000Z", 10, seller: "s2", orderId: "o1"));
        h.AdvanceTo("2026-01-01T00:00:01.000Z");

        Assert.Equal(2, h.Sink.Segments.Count(c => c.To == "new"));
    }

    [Fact]
    public void Removed_events_change_no_segment_and_teach_the_seller_no_category()
    {
        var h = new TaskHarness();
        h.Send(Interaction("cart-item-removed", "e1", "2026-01-01T00:00:00.000Z", category: "c9", seller: "s2"));
        h.Send(Interaction("favorite-removed", "e2", "2026-01-01T00:00:01.000Z", category: "c9", seller: "s2"));
        h.AdvanceTo("2026-01-02T00:00:00.000Z");
        Assert.Empty(h.Sink.Segments);
        Assert.Empty(h.Sink.Interests);

        // cats(s) comes from interactions and order items: s2, which only ever had removals in c9, does not get
        // another buyer interested in c9 as interested-categories (a removal would then have changed a segment).
        h.Send(Interaction("product-viewed", "e3", "2026-01-02T00:00:00.000Z", category: "c9", seller: "s1", buyer: "b2"));
        Assert.DoesNotContain(h.Snapshot("2026-01-02T00:00:00.000Z"), r => r is { SellerId: "s2", BuyerId: "b2" });

        // An interaction of s2 in c9 does teach it.
        h.Send(Interaction("product-viewed", "e4", "2026-01-02T00:00:01.000Z", category: "c9", seller: "s2", buyer: "b3"));
        Assert.Contains(("s2", "b2", "interested-categories", (string?)null), h.Snapshot("2026-01-02T00:00:01.000Z"));
    }

    [Fact]
    public void Categories_learned_from_order_items_give_interested_categories_to_pairs_without_a_direct_segment()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, seller: "s2", buyer: "b9", category: "c7"));
        h.Send(Interaction("favorite-added", "e2", "2026-01-02T00:00:00.000Z", category: "c7", seller: "s1", buyer: "b1"));
        h.Send(Interaction("product-viewed", "e3", "2026-01-02T00:00:01.000Z", category: "c7", seller: "s1", buyer: "b9"));

        var rows = h.Snapshot("2026-01-03T00:00:00.000Z");
        Assert.Contains(("s2", "b1", "interested-categories", (string?)null), rows);
        Assert.Contains(("s2", "b9", "new", (string?)"R1F3M3"), rows);
        Assert.DoesNotContain(rows, r => r is { SellerId: "s2", BuyerId: "b9", Segment: "interested-categories" });
        Assert.DoesNotContain(rows, r => r is { SellerId: "s1", Segment: "interested-categories" });
    }

    [Fact]
    public void Category_interest_is_entered_on_the_interaction_and_left_exactly_90_days_after_the_last_one()
    {
        var h = new TaskHarness();
        h.Send(Interaction("cart-item-added", "e1", "2026-01-01T00:00:00.000Z", category: "c3"));
        h.Send(Interaction("product-viewed", "e2", "2026-01-11T12:00:00.000Z", category: "c3"));
        h.AdvanceTo("2026-05-01T00:00:00.000Z");

        Assert.Equal(
            [("c3", "b1", "entered", "2026-01-01T00:00:00.000Z"), ("c3", "b1", "left", "2026-04-11T12:00:00.000Z")],
            h.Sink.Interests.Select(i => (i.CategoryId, i.BuyerId, i.Change, i.EffectiveAt)));
    }

    [Fact]
    public void An_order_leaving_the_window_in_the_same_millisecond_another_arrives_gives_no_change()
    {
        // e1 leaves the window at 2026-04-01T00:00:00.000Z, the instant e2 arrives: n is 1 just before and at T.
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
        h.Send(Order("e2", "2026-04-01T00:00:00.000Z", 10));
        h.AdvanceTo("2026-04-02T00:00:00.000Z");

        Assert.Equal([(null, "new", "2026-01-01T00:00:00.000Z")], Changes(h));
        Assert.Equal("R1F3M3", h.Snapshot("2026-04-01T00:00:00.000Z").Single().Rfm);
    }

    [Fact]
    public void Two_orders_in_one_millisecond_give_one_change_from_none_to_returning()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
        h.Send(Order("e2", "2026-01-01T00:00:00.000Z", 10));
        h.AdvanceTo("2026-01-02T00:00:00.000Z");

        Assert.Equal([(null, "returning", "2026-01-01T00:00:00.000Z")], Changes(h));
        Assert.Equal(ChangeCause.Event, h.Sink.Segments.Single().Cause);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_order_leaving_the_window_as_a_view_and_an_order_arrive_in_that_millisecond_is_no_change(bool wallClockFirst)
    {
        // Just before 04-01: e1 and e2, returning. At 04-01: e2 and e4, returning.
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
        h.Send(Order("e2", "2026-01-11T00:00:00.000Z", 10));
        if (wallClockFirst)
        {
            // The worker's clock follows the wall clock to exactly e1's exit before the records of that instant come.
            h.AdvanceClockTo("2026-04-01T00:00:00.000Z");
        }

        h.Send(Interaction("product-viewed", "e3", "2026-04-01T00:00:00.000Z"));
        h.Send(Order("e4", "2026-04-01T00:00:00.000Z", 10));
        h.AdvanceTo("2026-04-02T00:00:00.000Z");

        Assert.Equal([(null, "new", "2026-01-01T00:00:00.000Z"), ("new", "returning", "2026-01-11T00:00:00.000Z")], Changes(h));
    }

    [Fact]
    public void An_interest_leaving_the_window_as_an_interaction_in_that_category_arrives_in_that_millisecond_is_no_change()
    {
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "e1", "2026-01-01T00:00:00.000Z"));
        h.AdvanceClockTo("2026-04-01T00:00:00.000Z");
        h.Send(Interaction("cart-item-added", "e2", "2026-04-01T00:00:00.000Z"));
        h.AdvanceTo("2026-04-02T00:00:00.000Z");

        Assert.Equal([("c1", "entered", "2026-01-01T00:00:00.000Z")], h.Sink.Interests.Select(i => (i.CategoryId, i.Change, i.EffectiveAt)));
    }

    [Fact]
    public void A_late_event_is_applied_and_its_change_is_stamped_with_the_clock()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-10T00:00:00.000Z", 10, buyer: "b2"));
        h.Send(Interaction("product-viewed", "e2", "2026-01-05T00:00:00.000Z"));
        h.AdvanceClockTo("2026-01-10T00:00:00.001Z");

        Assert.Equal(
            [(null, "interested-products", "2026-01-10T00:00:00.000Z")],
            h.Sink.Segments.Where(c => c.BuyerId == "b1").Select(c => (c.From, c.To, c.EffectiveAt)).ToList());
    }

    [Fact]
    public void A_shorter_configured_window_moves_the_exit()
    {
        var h = new TaskHarness(new SegmentPolicy { WindowDays = 30 }.Validated());
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
        h.AdvanceTo("2026-03-01T00:00:00.000Z");

        Assert.Equal(("new", "sleeping", "2026-01-31T00:00:00.000Z"), Changes(h)[1]);
    }

    [Theory]
    [InlineData(90, 90)]
    [InlineData(120, 100)]
    public void With_a_window_as_long_as_the_horizon_an_order_still_leaves_it_when_another_record_of_the_buyer_comes_that_millisecond(int windowDays, int horizonDays)
    {
        // Orders are kept for max(window, horizon): here exactly the window, so the record at the exit instant must not
        // drop the leaving order before that instant is evaluated. Past the window the horizon has passed too: none.
        var h = new TaskHarness(new SegmentPolicy { WindowDays = windowDays, SleepingHorizonDays = horizonDays }.Validated());
        var first = EventTime.Parse("2026-01-01T00:00:00.000Z");
        var exit = EventTime.Format(first + (windowDays * EventTime.Day));
        h.Send(Order("e1", EventTime.Format(first), 100));
        h.Send(Order("e2", EventTime.Format(first + (10 * EventTime.Day)), 100));
        h.Send(Interaction("favorite-removed", "e3", exit, seller: "s2"));
        h.AdvanceTo(EventTime.Format(first + ((windowDays + 20) * EventTime.Day)));

        Assert.Equal(
            [(null, "new"), ("new", "returning"), ("returning", "new"), ("new", null)],
            Changes(h).Select(c => (c.From, c.To)).ToList());
        Assert.Equal((exit, ChangeCause.WindowExit), (Changes(h)[2].At, h.Sink.Segments[2].Cause));
    }

    [Fact]
    public void Inconsistent_thresholds_are_rejected_with_every_reason()
    {
        var error = Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() =>
            new SegmentPolicy { RecencyScore1BelowDays = 60, RecencyScore2BelowDays = 30, MonetaryScore1AtLeast = 1 }.Validated());

        Assert.Contains("RecencyScore2BelowDays", error.Message, StringComparison.Ordinal);
        Assert.Contains("MonetaryScore1AtLeast", error.Message, StringComparison.Ordinal);
    }
}
