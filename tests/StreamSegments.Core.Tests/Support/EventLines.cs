namespace StreamSegments.Core.Tests.Support;

/// <summary>Input records as JSON lines, for tests that feed a <see cref="TaskHarness"/>.</summary>
internal static class EventLines
{
    public static string Order(string id, string at, decimal amount, string seller = "s1", string buyer = "b1", string? orderId = null, string? category = null) =>
        $$"""{"type":"order-paid","eventId":"{{id}}","occurredAt":"{{at}}","buyerId":"{{buyer}}","sellerId":"{{seller}}","orderId":"{{orderId ?? "o-" + id}}","amount":{{amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}}{{(category is null ? "" : $$""","items":[{"productId":"p","categoryId":"{{category}}"}]""")}}}""";

    public static string Interaction(string type, string id, string at, string category = "c1", string seller = "s1", string buyer = "b1") =>
        $$"""{"type":"{{type}}","eventId":"{{id}}","occurredAt":"{{at}}","buyerId":"{{buyer}}","sellerId":"{{seller}}","productId":"p","categoryId":"{{category}}"}""";
}
