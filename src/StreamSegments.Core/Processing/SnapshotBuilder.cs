using StreamSegments.Core.Policy;
using StreamSegments.Core.Rules;
using StreamSegments.Core.State;

namespace StreamSegments.Core.Processing;

/// <summary>Receives the rows of a snapshot: every pair that has a segment at the snapshot instant.</summary>
public interface ISnapshotSink
{
    /// <summary>One row; <paramref name="rfm"/> is undefined (default) where the pair has no order in the window.</summary>
    void Row(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> buyerId, Segment segment, RfmScore rfm);
}

/// <summary>
/// Resolves every segment of one buyer at an instant, interested-categories included: the pairs with a direct
/// segment, then every seller of a category the buyer is interested in whose pair has no direct segment.
/// </summary>
public sealed class SnapshotBuilder(SegmentPolicy policy, SymbolTable sellers, SellerCatalog catalog)
{
    private readonly HashSet<int> direct = [];
    private readonly HashSet<int> resolved = [];

    public void Emit(BuyerState buyer, long asOf, ISnapshotSink sink)
    {
        direct.Clear();
        resolved.Clear();
        foreach (var pair in buyer.Pairs)
        {
            var evaluation = SegmentRules.Evaluate(pair, asOf, policy);
            if (evaluation.Segment != Segment.None)
            {
                direct.Add(pair.Seller);
                sink.Row(sellers.NameOf(pair.Seller), buyer.BuyerId, evaluation.Segment, evaluation.Rfm);
            }
        }

        foreach (ref readonly var interest in buyer.Categories)
        {
            if (!SegmentRules.IsInterested(interest, asOf, policy))
            {
                continue;
            }

            foreach (var seller in catalog.SellersOf(interest.Category))
            {
                if (!direct.Contains(seller) && resolved.Add(seller))
                {
                    sink.Row(sellers.NameOf(seller), buyer.BuyerId, Segment.InterestedCategories, default);
                }
            }
        }
    }
}
