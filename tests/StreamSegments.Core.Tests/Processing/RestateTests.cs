using StreamSegments.Core.Rules;
using StreamSegments.Core.Tests.Support;
using static StreamSegments.Core.Tests.Support.EventLines;

namespace StreamSegments.Core.Tests.Processing;

/// <summary>A buyer's state handed over as it stands (for a current-state table filled late): no change, and no state changed.</summary>
public sealed class RestateTests
{
    [Fact]
    public void A_buyer_is_restated_as_last_published_and_what_is_due_at_the_clock_is_left_to_its_change()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, seller: "s1", category: "c1"));
        h.Send(Interaction("product-viewed", "e2", "2026-01-01T00:00:00.000Z", category: "c2", seller: "s2"));
        h.Send(Interaction("product-viewed", "e3", "2026-01-02T00:00:00.000Z", category: "c3", seller: "s3"));
        h.AdvanceTo("2026-01-03T00:00:00.000Z");

        // At the clock, not evaluated yet: s1's second order, and (late, stamped with the clock) s3's first order.
        h.Send(Order("e4", "2026-01-05T00:00:00.000Z", 10, seller: "s1"));
        h.Send(Order("e5", "2026-01-02T12:00:00.000Z", 10, seller: "s3"));
        var stored = h.Store.Snapshot();
        var timers = h.Task.Timers.Count;
        var changesBefore = h.Sink.Segments.Count;
        h.Task.Restate("b1"u8);

        // Only s2 holds at the clock what it last published; interest comes from interactions only (c1 is a category of s1's).
        Assert.Equal(
            [("s2", "interested-products", "interested-products", "2026-01-05T00:00:00.000Z", ChangeCause.Restated, 0)],
            h.Sink.Restated.Segments.Select(c => (c.SellerId, c.From, c.To, c.EffectiveAt, c.Cause, c.Orders)));
        Assert.Equal([("c2", "entered"), ("c3", "entered")], h.Sink.Restated.Interests.Select(c => (c.CategoryId, c.Change)).Order());
        Assert.Equal((changesBefore, timers), (h.Sink.Segments.Count, h.Task.Timers.Count));
        Assert.Equal(stored, h.Store.Snapshot());

        // What was left out changes when the clock passes the instant: the table gets those changes.
        h.AdvanceTo("2026-01-06T00:00:00.000Z");
        Assert.Equal(
            [("s1", "new", "returning"), ("s3", "interested-products", "new")],
            h.Sink.Segments.Skip(changesBefore).Select(c => (c.SellerId, c.From, c.To)).Order());
    }
}
