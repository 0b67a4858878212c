using StreamSegments.Core.Tests.Support;

namespace StreamSegments.Core.Tests.Processing;

public class SegmentTaskSmokeTests
{
    [Fact]
    public void First_paid_order_makes_the_pair_new_at_the_order_instant()
    {
        var harness = new TaskHarness();

        harness.Send("""{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T10:00:00.000Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":100}""");

        var change = Assert.Single(harness.Sink.Segments);
        Assert.Equal(("s1", "b1", null, "new", "2026-01-01T10:00:00.000Z"), (change.SellerId, change.BuyerId, change.From, change.To, change.EffectiveAt));
    }
}
