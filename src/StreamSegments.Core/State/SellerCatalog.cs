namespace StreamSegments.Core.State;

/// <summary>
/// cats(s): every category that has appeared with a seller in any event. Needed to resolve the seller-level
/// interested-categories segment. Only grows; <see cref="Learn"/> reports new facts so storage can persist them.
/// </summary>
public sealed class SellerCatalog
{
    private readonly HashSet<long> known = [];
    private readonly Dictionary<int, List<int>> sellersByCategory = [];

    public int Count => known.Count;

    /// <summary>Records that <paramref name="category"/> appeared with <paramref name="seller"/>; true if it is new.</summary>
    public bool Learn(int seller, int category)
    {
        if (!known.Add(((long)seller << 32) | (uint)category))
        {
            return false;
        }

        if (!sellersByCategory.TryGetValue(category, out var sellers))
        {
            sellersByCategory[category] = sellers = [];
        }

        sellers.Add(seller);
        return true;
    }

    public IReadOnlyList<int> SellersOf(int category) =>
        sellersByCategory.TryGetValue(category, out var sellers) ? sellers : [];

    public IEnumerable<(int Seller, int Category)> Entries =>
        known.Select(k => ((int)(k >> 32), (int)(uint)k));
}
