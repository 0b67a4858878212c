using StreamSegments.Core.Rules;
using StreamSegments.Core.State;

namespace StreamSegments.Core.Processing;

/// <summary>
/// Where a task keeps its buyers. The production implementation is FASTER (StreamSegments.Storage); the core
/// only needs these four operations, which is what keeps it free of I/O.
/// </summary>
public interface IBuyerStateStore
{
    /// <summary>Loads a buyer into <paramref name="state"/>; false (state untouched) when the store has none.</summary>
    bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state);

    void Save(BuyerState state);

    void Delete(ReadOnlySpan<byte> buyerId);

    /// <summary>Persists one fact of cats(s); called once per new (seller, category).</summary>
    void SaveCatalogEntry(int seller, int category);
}

/// <summary>A pair's direct segment changed at <see cref="EffectiveAt"/>.</summary>
public readonly ref struct SegmentChange
{
    public required ReadOnlySpan<byte> SellerId { get; init; }

    public required ReadOnlySpan<byte> BuyerId { get; init; }

    public required Segment From { get; init; }

    public required Segment To { get; init; }

    public required long EffectiveAt { get; init; }

    public required ChangeCause Cause { get; init; }

    /// <summary>The measures at <see cref="EffectiveAt"/> that gave <see cref="To"/>.</summary>
    public required PairEvaluation Measures { get; init; }
}

/// <summary>A buyer entered or left interest in a category at <see cref="EffectiveAt"/>.</summary>
public readonly ref struct CategoryInterestChange
{
    public required ReadOnlySpan<byte> CategoryId { get; init; }

    public required ReadOnlySpan<byte> BuyerId { get; init; }

    public required bool Entered { get; init; }

    public required long EffectiveAt { get; init; }

    public required ChangeCause Cause { get; init; }
}

/// <summary>Receives the changes a task produces, in the order it produces them.</summary>
public interface IChangeSink
{
    void SegmentChanged(in SegmentChange change);

    void CategoryInterestChanged(in CategoryInterestChange change);

    /// <summary>
    /// The task learned a fact of cats(s): <paramref name="categoryId"/> appeared with <paramref name="sellerId"/>, at
    /// <paramref name="at"/>, for the first time in its input. What a consumer needs to resolve interested-categories
    /// from the category interest changes; ignored by sinks that have the catalog at hand (the replay's snapshot).
    /// </summary>
    void SellerCategoryLearned(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, long at)
    {
    }

    /// <summary>
    /// A pair's segment as it stands (<see cref="ChangeCause.Restated"/>, from equal to to), for a sink that starts keeping
    /// current state late (<see cref="SegmentTask.Restate"/>); not a change, and ignored by sinks of changes only.
    /// </summary>
    void SegmentRestated(in SegmentChange current)
    {
    }

    /// <summary>An interest held as it stands, as <see cref="SegmentRestated"/> is for a pair's segment.</summary>
    void CategoryInterestRestated(in CategoryInterestChange current)
    {
    }
}

/// <summary>What a task has done since it started; cheap to read at any time from the task's thread.</summary>
public sealed class TaskCounters
{
    public long EventsApplied { get; set; }

    public long DuplicateEvents { get; set; }

    public long DuplicateOrders { get; set; }

    public long SegmentChanges { get; set; }

    public long CategoryInterestChanges { get; set; }

    public long TimersFired { get; set; }

    /// <summary>Event ids forgotten before their time because their buyer had more than <see cref="Policy.SegmentPolicy.MaxRememberedEventIds"/>.</summary>
    public long EventIdsForgottenEarly { get; set; }
}
