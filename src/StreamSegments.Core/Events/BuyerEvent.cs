namespace StreamSegments.Core.Events;

/// <summary>
/// A validated input event, in the form the engine needs: ids of sellers and categories interned, event and
/// order ids hashed, the buyer id as UTF-8. One instance is reused by a parser for every record, so parsing
/// allocates nothing in steady state; the engine must not keep a reference past the call.
/// </summary>
public sealed class BuyerEvent
{
    private byte[] buyerId = new byte[64];
    private int[] itemCategories = new int[8];

    public EventKind Kind { get; internal set; }

    public long OccurredAt { get; internal set; }

    public ulong EventIdHash { get; internal set; }

    public int Seller { get; internal set; }

    /// <summary>The category of an interaction or a removed event; -1 for orders.</summary>
    public int Category { get; internal set; } = -1;

    public ulong OrderIdHash { get; internal set; }

    public decimal Amount { get; internal set; }

    public ReadOnlySpan<byte> BuyerId => buyerId.AsSpan(0, BuyerIdLength);

    public int BuyerIdLength { get; private set; }

    /// <summary>Categories of an order's items (may repeat).</summary>
    public ReadOnlySpan<int> ItemCategories => itemCategories.AsSpan(0, ItemCategoryCount);

    public int ItemCategoryCount { get; private set; }

    internal void SetBuyerId(ReadOnlySpan<byte> id)
    {
        if (buyerId.Length < id.Length)
        {
            buyerId = new byte[Math.Max(id.Length, buyerId.Length * 2)];
        }

        id.CopyTo(buyerId);
        BuyerIdLength = id.Length;
    }

    internal void ClearItems() => ItemCategoryCount = 0;

    internal void AddItemCategory(int category)
    {
        if (ItemCategoryCount == itemCategories.Length)
        {
            Array.Resize(ref itemCategories, itemCategories.Length * 2);
        }

        itemCategories[ItemCategoryCount++] = category;
    }

    /// <summary>Builds an event directly (tests, benchmarks, generators); the hot path uses the parser.</summary>
    public static BuyerEvent Create(
        EventKind kind, long occurredAt, ulong eventIdHash, ReadOnlySpan<byte> buyerId, int seller,
        int category = -1, ulong orderIdHash = 0, decimal amount = 0, ReadOnlySpan<int> itemCategories = default)
    {
        var e = new BuyerEvent
        {
            Kind = kind,
            OccurredAt = occurredAt,
            EventIdHash = eventIdHash,
            Seller = seller,
            Category = category,
            OrderIdHash = orderIdHash,
            Amount = amount,
        };
        e.SetBuyerId(buyerId);
        foreach (var c in itemCategories)
        {
            e.AddItemCategory(c);
        }

        return e;
    }
}
