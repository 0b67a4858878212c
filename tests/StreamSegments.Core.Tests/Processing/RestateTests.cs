using StreamSegments.Core.Rules;
using StreamSegments.Core.Tests.Support;
using static StreamSegments.Core.Tests.Support.EventLines;

namespace StreamSegments.Core.Tests.Processing;

/// <summary>A buyer's state handed over as it stands (for a current-state table filled late): no change, and no state changed.</summary>
public sealed class RestateTests
{
    [Fact]
    public void A_buyer_is_restated_as_last_published_and_a_change_due_at_the_clock_still_follows()
    {
        var h = new TaskHarness();
        h.Send(Order("e1", "2026-01-01T00:00:00.000Z", 10, seller: "s1", category: "c1"));
        h.Send(Interaction("product-viewed", "e2", "2026-01-01T00:00:00.000Z", category: "c2", seller: "s2"));
        h.Send(Interaction("product-viewed", "e3", "2026-01-02T00:00:00.000Z", category: "c3", seller: "s3"));
        h.AdvanceTo("2026-01-03T00:00:00.000Z");

        // s1's second order is at the clock, not evaluated yet: s1 is restated as published (new), measured just before.
        h.Send(Order("e4", "2026-01-05T00:00:00.000Z", 10, seller: "s1"));
        var changesBefore = h.Sink.Segments.Count;
        h.Task.Restate("b1"u8);

        Assert.Equal(
            [("s1", "new", "new", "2026-01-05T00:00:00.000Z", ChangeCause.Restated, 1), ("s2", "interested-products", "interested-products", "2026-01-05T00:00:00.000Z", ChangeCause.Restated, 0), ("s3", "interested-products", "interested-products", "2026-01-05T00:00:00.000Z", ChangeCause.Restated, 0)],
            h.Sink.Restated.Segments.Select(c => (c.SellerId, c.From, c.To, c.EffectiveAt, c.Cause, c.Orders)).Order());
        // Interest comes from interactions only: c1 is one of s1's categories, not an interest.
        Assert.Equal(
            [("c2", "entered"), ("c3", "entered")],
            h.Sink.Restated.Interests.Select(c => (c.CategoryId, c.Change)).Order());
        Assert.Equal(changesBefore, h.Sink.Segments.Count);

        h.AdvanceTo("2026-01-06T00:00:00.000Z");
        Assert.Equal(("new", "returning", "2026-01-05T00:00:00.000Z"), h.Sink.Segments.Select(c => (c.From, c.To, c.EffectiveAt)).Last());
    }
}
