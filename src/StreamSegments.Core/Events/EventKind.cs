namespace StreamSegments.Core.Events;

public enum EventKind : byte
{
    OrderPaid = 1,
    ProductViewed = 2,
    CartItemAdded = 3,
    CartItemRemoved = 4,
    FavoriteAdded = 5,
    FavoriteRemoved = 6,
}

public static class EventKinds
{
    /// <summary>Interactions put a pair in interested-products and a category in the buyer's interests.</summary>
    public static bool IsInteraction(this EventKind kind) =>
        kind is EventKind.ProductViewed or EventKind.CartItemAdded or EventKind.FavoriteAdded;

    public static string ToWireName(this EventKind kind) => kind switch
    {
        EventKind.OrderPaid => "order-paid",
        EventKind.ProductViewed => "product-viewed",
        EventKind.CartItemAdded => "cart-item-added",
        EventKind.CartItemRemoved => "cart-item-removed",
        EventKind.FavoriteAdded => "favorite-added",
        EventKind.FavoriteRemoved => "favorite-removed",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    internal static bool TryParse(ReadOnlySpan<byte> name, out EventKind kind)
    {
        kind = name switch
        {
            _ when name.SequenceEqual("order-paid"u8) => EventKind.OrderPaid,
            _ when name.SequenceEqual("product-viewed"u8) => EventKind.ProductViewed,
            _ when name.SequenceEqual("cart-item-added"u8) => EventKind.CartItemAdded,
            _ when name.SequenceEqual("cart-item-removed"u8) => EventKind.CartItemRemoved,
            _ when name.SequenceEqual("favorite-added"u8) => EventKind.FavoriteAdded,
            _ when name.SequenceEqual("favorite-removed"u8) => EventKind.FavoriteRemoved,
            _ => 0,
        };
        return kind != 0;
    }
}
