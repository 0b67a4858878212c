using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Tests.Support;
using static StreamSegments.Core.Tests.Support.EventLines;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Processing;

/// <summary>
/// Same-instant evaluation across the task's other paths: late records, a restart, a policy re-evaluation, the
/// buyer held between two loads, and an instant evaluated by <see cref="SegmentTask.AdvanceTo"/>.
/// </summary>
public sealed class SameInstantTests
{
    [Fact]
    public void A_late_event_does_not_publish_an_intermediate_change_at_an_instant_still_open()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-10T00:00:00.000Z", 10));                 // at the clock: waits
        h.Send(Interaction("product-viewed", "e2", "2026-01-05T00:00:00.000Z"));                      // late, same pair
        h.Send(Order("e3", "2026-01-10T00:00:00.000Z", 10));                 // same millisecond as e1
        h.AdvanceTo("2026-01-11T00:00:00.000Z");

        // Just before 01-10 the pair had published nothing; at 01-10 it is returning: one change.
        Assert.Equal(
            [(null, "returning", "2026-01-10T00:00:00.000Z")],
            h.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt)).ToList());
    }

    [Fact]
    public void Late_records_stamped_with_one_instant_give_one_change_per_pair_caused_by_an_event()
    {
        // Found by review: three orders, two of them late, published new, returning and regular-risky at 01-11.
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "e0", "2026-01-11T00:00:00.000Z", buyer: "b0", seller: "s9", category: "c9"));
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
        h.Send(Order("e2", "2026-01-02T00:00:00.000Z", 10));
        h.Send(Interaction("product-viewed", "e3", "2026-01-03T00:00:00.000Z", category: "c1"));
        Assert.DoesNotContain(h.Sink.Segments, c => c.BuyerId == "b1");

        h.Send(Order("e4", "2026-01-11T00:00:00.000Z", 10));
        h.AdvanceTo("2026-01-21T00:00:00.000Z");

        Assert.Equal(
            [(null, "regular-risky", "2026-01-11T00:00:00.000Z", ChangeCause.Event)],
            h.Sink.ChangesOf("b1"));
        Assert.Equal(
            [("c1", "entered", "2026-01-11T00:00:00.000Z", ChangeCause.Event)],
            h.Sink.Interests.Where(c => c.BuyerId == "b1").Select(c => (c.CategoryId, c.Change, c.EffectiveAt, c.Cause)).ToList());
    }

    [Fact]
    public void A_late_record_waiting_at_the_clock_survives_a_restart()
    {
        static TaskHarness Prefix()
        {
            var h = new TaskHarness();
            h.Send(Interaction("product-viewed", "e0", "2026-01-11T00:00:00.000Z", buyer: "b0", seller: "s9", category: "c9"));
            h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
            return h;
        }

        var uninterrupted = Prefix();
        uninterrupted.Send(Order("e2", "2026-01-02T00:00:00.000Z", 10));
        uninterrupted.AdvanceTo("2026-01-21T00:00:00.000Z");

        var before = Prefix();
        var resumed = before.Restarted();
        resumed.Send(Order("e2", "2026-01-02T00:00:00.000Z", 10));
        resumed.Task.AdvanceTo(EventTime.Parse("2026-01-21T00:00:00.000Z"));

        Assert.Equal(
            [(null, "returning", "2026-01-11T00:00:00.000Z", ChangeCause.Event)],
            uninterrupted.Sink.ChangesOf("b1"));
        Assert.DoesNotContain(before.Sink.Segments, c => c.BuyerId == "b1");
        Assert.Equal(
            uninterrupted.Sink.ChangesOf("b1"),
            resumed.Sink.ChangesOf("b1"));
    }

    [Fact]
    public void A_late_record_alone_at_the_clock_is_evaluated_after_a_restart_too()
    {
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "e0", "2026-01-11T00:00:00.000Z", buyer: "b0", seller: "s9", category: "c9"));
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));

        var r = h.Restarted();
        r.Task.AdvanceTo(EventTime.Parse("2026-01-21T00:00:00.000Z"));

        Assert.Equal(
            [(null, "new", "2026-01-11T00:00:00.000Z", ChangeCause.Event)],
            r.Sink.ChangesOf("b1"));
    }

    [Fact]
    public void A_restart_between_two_orders_of_one_millisecond_still_gives_one_change()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-10T00:00:00.000Z", 10));
        var r = h.Restarted();
        r.Send(Order("e2", "2026-01-10T00:00:00.000Z", 10));
        r.Task.AdvanceTo(EventTime.Parse("2026-01-11T00:00:00.000Z"));

        Assert.Empty(h.Sink.Segments);
        Assert.Equal(
            [(null, "returning", "2026-01-10T00:00:00.000Z", ChangeCause.Event)],
            r.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt, c.Cause)).ToList());
    }

    [Fact]
    public void A_policy_change_reevaluation_does_not_take_over_an_event_still_waiting_at_the_clock()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-10T00:00:00.000Z", 10));

        // Restarted under thresholds that do not matter to this pair (a 'new' or 'returning' has no M in its segment).
        var r = h.Restarted(new SegmentPolicy { MonetaryScore1AtLeast = 6000m }.Validated());
        r.Task.Reevaluate("b1"u8);
        r.Send(Order("e2", "2026-01-10T00:00:00.000Z", 10)); // the rest of that millisecond
        r.Task.AdvanceTo(EventTime.Parse("2026-01-11T00:00:00.000Z"));

        Assert.Equal(
            [(null, "returning", "2026-01-10T00:00:00.000Z", ChangeCause.Event)],
            r.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt, c.Cause)).ToList());
    }

    [Fact]
    public void A_resumed_task_gives_what_the_uninterrupted_one_gives_after_a_no_change_timer_pruned_the_held_buyer()
    {
        // Four orders make a regular-risky; the first leaving the window (04-01) changes nothing, so the buyer is
        // not written, but pruning at 04-01 dropped e1's event id from the held copy only. Then e1's id comes
        // back with another payload (a view).
        static TaskHarness Prefix()
        {
            var h = new TaskHarness();
            h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10));
            h.Send(Order("e2", "2026-01-20T00:00:00.000Z", 10));
            h.Send(Order("e3", "2026-01-21T00:00:00.000Z", 10));
            h.Send(Order("e4", "2026-01-22T00:00:00.000Z", 10));
            h.AdvanceClockTo("2026-04-01T00:00:00.001Z");
            return h;
        }

        var reused = Interaction("product-viewed", "e1", "2026-04-01T00:00:00.001Z");
        var end = EventTime.Parse("2026-04-02T00:00:00.000Z");

        var uninterrupted = Prefix();
        var segmentsBefore = uninterrupted.Sink.Segments.Count;
        var outcome = uninterrupted.Send(reused);
        uninterrupted.Task.AdvanceTo(end);
        Assert.Equal(segmentsBefore, uninterrupted.Sink.Segments.Count); // the 04-01 exit itself changed nothing

        var before = Prefix();
        var resumed = before.Restarted();
        var resumedOutcome = resumed.Send(reused);
        resumed.Task.AdvanceTo(end);

        Assert.Equal(resumedOutcome, outcome);
        Assert.Equal(
            resumed.Sink.Interests.Select(i => (i.CategoryId, i.Change, i.EffectiveAt)).ToList(),
            uninterrupted.Sink.Interests.Select(i => (i.CategoryId, i.Change, i.EffectiveAt)).ToList());
    }

    [Fact]
    public void An_event_at_an_instant_already_evaluated_by_AdvanceTo_is_still_evaluated()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-10T00:00:00.000Z", 10));
        h.AdvanceTo("2026-01-10T00:00:00.000Z");
        h.Send(Order("e2", "2026-01-10T00:00:00.000Z", 10));
        h.AdvanceTo("2026-01-11T00:00:00.000Z");

        Assert.Equal("returning", h.Sink.Segments[^1].To);
    }
}
