using StreamSegments.Core.Policy;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Tests.Support;
using StreamSegments.Core.Time;
using static StreamSegments.Core.Tests.Support.EventLines;

namespace StreamSegments.Core.Tests.Processing;

/// <summary>
/// Late records (older than the task's clock) are stamped with the clock and evaluated with the rest of its instant.
/// Each case here broke a first version of that (found by review).
/// </summary>
public sealed class LateRecordTests
{
    private const string Clock = "2026-01-11T00:00:00.000Z";

    /// <summary>b0's view moves the clock to 01-11; what b1 sends next at an earlier instant is late.</summary>
    private static TaskHarness AtTheClock()
    {
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "e0", Clock, buyer: "b0", seller: "s9", category: "c9"));
        return h;
    }

    [Theory]
    [InlineData("cart-item-removed")]
    [InlineData("re-sent order")]
    public void A_late_order_is_published_when_a_record_that_counts_nothing_follows_it_at_the_clock(string then)
    {
        var h = AtTheClock();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, orderId: "o1"));
        h.Send(then == "re-sent order"
            ? Order("e1-again", "2026-01-01T00:00:00.000Z", 10, orderId: "o1")
            : Interaction(then, "e2", Clock, seller: "s2"));
        h.AdvanceTo("2026-02-01T00:00:00.000Z");

        Assert.Equal([(null, "new", Clock, ChangeCause.Event)], h.Sink.ChangesOf("b1"));
    }

    [Fact]
    public void A_late_view_is_published_with_its_interest_when_a_removal_follows_it_at_the_clock()
    {
        var h = AtTheClock();
        h.Send(Interaction("product-viewed", "e1", "2026-01-05T00:00:00.000Z"));
        h.Send(Interaction("favorite-removed", "e2", Clock));
        h.AdvanceTo("2026-02-01T00:00:00.000Z");

        Assert.Equal([(null, "interested-products", Clock, ChangeCause.Event)], h.Sink.ChangesOf("b1"));
        Assert.Equal([("c1", "entered", Clock, ChangeCause.Event)], h.Sink.Interests.Where(c => c.BuyerId == "b1").Select(c => (c.CategoryId, c.Change, c.EffectiveAt, c.Cause)));
    }

    [Fact]
    public void Late_views_keep_about_one_queue_entry_per_buyer()
    {
        // A buyer viewing every 10 minutes, each view arriving a minute after another buyer's later one.
        var h = new TaskHarness();
        var start = EventTime.Parse("2026-01-01T00:00:00.000Z");
        for (var i = 0; i < 2_000; i++)
        {
            var at = start + (i * 10 * 60_000L);
            h.Send(Interaction("product-viewed", $"a{i}", EventTime.Format(at + 60_000), buyer: "b0", seller: "s9", category: "c9"));
            h.Send(Interaction("product-viewed", $"v{i}", EventTime.Format(at)));
        }

        Assert.True(h.Task.Timers.Count < 10, $"{h.Task.Timers.Count} queue entries for 2 buyers");
    }

    [Fact]
    public void A_late_order_at_an_instant_where_its_pair_has_a_window_exit_is_caused_by_the_event()
    {
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "v", "2025-10-13T00:00:00.000Z")); // leaves the window at 01-11
        h.Send(Interaction("product-viewed", "e0", Clock, buyer: "b0", seller: "s9", category: "c9"));
        h.Send(Order("late", "2026-01-05T00:00:00.000Z", 10));
        h.AdvanceTo("2026-01-12T00:00:00.000Z");

        Assert.Equal((null, "interested-products", "2025-10-13T00:00:00.000Z", ChangeCause.Event), h.Sink.ChangesOf("b1")[0]);
        Assert.Equal([("interested-products", "new", Clock, ChangeCause.Event)], h.Sink.ChangesOf("b1").Where(c => c.At == Clock));
    }

    [Fact]
    public void A_late_view_that_changes_nothing_leaves_a_window_exit_at_the_clock_its_cause()
    {
        var h = new TaskHarness();
        h.Send(Interaction("product-viewed", "v", "2025-10-13T00:00:00.000Z")); // leaves the window at 01-11
        h.Send(Interaction("product-viewed", "e0", Clock, buyer: "b0", seller: "s9", category: "c9"));
        h.Send(Interaction("product-viewed", "late", "2025-10-12T00:00:00.000Z")); // older than v: changes nothing
        h.AdvanceTo("2026-01-12T00:00:00.000Z");

        Assert.Equal([("interested-products", null, Clock, ChangeCause.WindowExit)], h.Sink.ChangesOf("b1").Where(c => c.At == Clock));
        Assert.Equal(
            [("c1", "left", Clock, ChangeCause.WindowExit)],
            h.Sink.Interests.Where(c => c.BuyerId == "b1" && c.EffectiveAt == Clock).Select(c => (c.CategoryId, c.Change, c.EffectiveAt, c.Cause)));
    }

    [Theory]
    [InlineData("late view of s1")]
    [InlineData("window exit of s1")]
    [InlineData("late view of s2 changing nothing")]
    public void A_policy_difference_keeps_its_cause_whatever_else_waits_at_the_clock(string waiting)
    {
        // s2: three orders of 2500, regular-loyal (M2) until M2 needs 3000. At the clock the buyer also waits for a
        // late view of s1, or for the window exit of an earlier one; or it received a view of s2 from outside the
        // window, which changes nothing and so leaves s2 to the re-evaluation.
        var h = new TaskHarness();
        if (waiting == "window exit of s1")
        {
            h.Send(Interaction("product-viewed", "v", "2025-10-13T00:00:00.000Z"));
        }

        h.Send(Order("o1", "2025-12-20T00:00:00.000Z", 2500, seller: "s2"));
        h.Send(Order("o2", "2025-12-21T00:00:00.000Z", 2500, seller: "s2"));
        h.Send(Order("o3", "2025-12-22T00:00:00.000Z", 2500, seller: "s2"));
        h.Send(Interaction("product-viewed", "e0", Clock, buyer: "b0", seller: "s9", category: "c9"));
        if (waiting.StartsWith("late view of", StringComparison.Ordinal))
        {
            var s2 = waiting.Contains("s2", StringComparison.Ordinal);
            h.Send(Interaction("product-viewed", "late", s2 ? "2025-10-01T00:00:00.000Z" : "2026-01-05T00:00:00.000Z", seller: s2 ? "s2" : "s1"));
        }

        var r = h.Restarted(new SegmentPolicy { MonetaryScore2AtLeast = 3000m }.Validated());
        r.Task.Reevaluate("b1"u8);
        r.AdvanceTo("2026-01-12T00:00:00.000Z");

        Assert.Equal(
            [("regular-loyal", "regular-risky", Clock, ChangeCause.PolicyChange)],
            r.Sink.Segments.Where(c => c.SellerId == "s2").Select(c => (c.From, c.To, c.EffectiveAt, c.Cause)));
    }

    /// <summary>
    /// Random histories with late records, same-millisecond events, removals and re-sent orders: once the clock has
    /// passed an instant, every pair has published its segment at that instant, and never two changes at one instant.
    /// </summary>
    [Fact]
    public void Once_the_clock_has_passed_an_instant_every_pair_has_published_its_segment_there()
    {
        string[] types = ["product-viewed", "cart-item-added", "favorite-added", "cart-item-removed", "favorite-removed"];
        for (var seed = 0; seed < 100; seed++)
        {
            var random = new Random(seed);
            var lines = new List<string>();
            var t = EventTime.Parse("2026-01-01T00:00:00.000Z");
            for (var i = 0; i < 40; i++)
            {
                t += random.Next(3) == 0 ? 0 : random.Next(1, 4) * (random.Next(2) == 0 ? 1 : EventTime.Day * 20);
                var at = EventTime.Format(random.Next(3) == 0 ? t - (random.Next(1, 50) * EventTime.Day) : t);
                var (buyer, seller) = ("b" + random.Next(3), "s" + random.Next(2));
                lines.Add(random.Next(2) == 0
                    ? Order("e" + i, at, random.Next(1, 4) * 1500, seller: seller, buyer: buyer, orderId: "o" + random.Next(30))
                    : Interaction(types[random.Next(types.Length)], "e" + i, at, category: "c" + random.Next(2), seller: seller, buyer: buyer));
            }

            // After each prefix, a restarted task (the state as a checkpoint would keep it) moves the clock past its
            // instant: everything at or before it must then be published.
            for (var k = 1; k <= lines.Count; k++)
            {
                var run = RunFromScratch(lines.Take(k));
                var clock = run.Task.Clock.Now;
                run.Restarted().Task.AdvanceClockTo(clock + 1);
                foreach (var id in run.Store.BuyerIds.ToList())
                {
                    foreach (var pair in run.Store.Load(id).Pairs)
                    {
                        Assert.True(
                            SegmentRules.Evaluate(pair, clock, run.Policy).Segment == pair.Published,
                            $"seed {seed}, {k} lines: {id} published {pair.Published} at {EventTime.Format(clock)}\n  {string.Join("\n  ", lines.Take(k))}");
                    }
                }
            }

            var all = RunFromScratch(lines);
            all.Task.AdvanceClockTo(all.Task.Clock.Now + 1);
            Assert.Empty(all.Sink.Segments.GroupBy(c => (c.SellerId, c.BuyerId, c.EffectiveAt)).Where(g => g.Count() > 1).Select(g => g.Key));
        }
    }

    private static TaskHarness RunFromScratch(IEnumerable<string> lines)
    {
        var h = new TaskHarness();
        foreach (var line in lines)
        {
            h.Send(line);
        }

        return h;
    }
}
