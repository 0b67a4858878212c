using System.Runtime.InteropServices;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.State;

/// <summary>A (category, buyer) interest: the latest interaction, and whether "entered" was last published.</summary>
[StructLayout(LayoutKind.Auto)]
public record struct CategoryInterest(int Category, long LastInteraction, bool Published)
{
    /// <summary>A late interaction changed it, evaluated when the clock passes its instant (<see cref="PairState.LatePending"/>).</summary>
    public bool LatePending { get; set; }
}

/// <summary>An event id seen recently (hashed), remembered until <see cref="ForgetAt"/> (when a re-send can no longer change anything).</summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct SeenEvent(ulong EventIdHash, long ForgetAt);

/// <summary>
/// Everything about one buyer in one task: its pairs (one per seller it dealt with), its category interests,
/// the event ids it recently sent, and the instant its timer is scheduled for. This is the unit stored in the
/// state store (one record per buyer) and the unit a timer fires on. Instances are reused: <see cref="Reset"/>
/// keeps the pooled arrays and pair objects, so loading a buyer allocates nothing in steady state.
/// </summary>
public sealed class BuyerState
{
    private byte[] buyerId = new byte[64];
    private PairState[] pairs = [];
    private CategoryInterest[] categories = new CategoryInterest[4];
    private SeenEvent[] seen = new SeenEvent[8];

    public ReadOnlySpan<byte> BuyerId => buyerId.AsSpan(0, BuyerIdLength);

    public int BuyerIdLength { get; private set; }

    /// <summary>The instant this buyer's timer is scheduled for (<see cref="EventTime.None"/> when none).</summary>
    public long ScheduledTimer { get; set; } = EventTime.None;

    public int PairCount { get; private set; }

    public int CategoryCount { get; private set; }

    public int SeenCount { get; private set; }

    public ReadOnlySpan<PairState> Pairs => pairs.AsSpan(0, PairCount);

    public Span<CategoryInterest> Categories => categories.AsSpan(0, CategoryCount);

    public ReadOnlySpan<SeenEvent> Seen => seen.AsSpan(0, SeenCount);

    public bool IsEmpty => PairCount == 0 && CategoryCount == 0 && SeenCount == 0;

    public void Reset(ReadOnlySpan<byte> id)
    {
        if (buyerId.Length < id.Length)
        {
            buyerId = new byte[Math.Max(id.Length, buyerId.Length * 2)];
        }

        id.CopyTo(buyerId);
        BuyerIdLength = id.Length;
        ScheduledTimer = EventTime.None;
        PairCount = 0;
        CategoryCount = 0;
        SeenCount = 0;
    }

    public PairState? FindPair(int seller)
    {
        foreach (var pair in Pairs)
        {
            if (pair.Seller == seller)
            {
                return pair;
            }
        }

        return null;
    }

    public PairState GetOrAddPair(int seller) => FindPair(seller) ?? AddPair(seller);

    public PairState AddPair(int seller)
    {
        if (PairCount == pairs.Length)
        {
            Array.Resize(ref pairs, Math.Max(4, pairs.Length * 2));
        }

        var pair = pairs[PairCount] ??= new PairState();
        pair.Reset(seller);
        PairCount++;
        return pair;
    }

    public ref CategoryInterest GetOrAddCategory(int category)
    {
        for (var i = 0; i < CategoryCount; i++)
        {
            if (categories[i].Category == category)
            {
                return ref categories[i];
            }
        }

        return ref AddCategory(new CategoryInterest(category, EventTime.None, Published: false));
    }

    public ref CategoryInterest AddCategory(CategoryInterest interest)
    {
        if (CategoryCount == categories.Length)
        {
            Array.Resize(ref categories, categories.Length * 2);
        }

        categories[CategoryCount] = interest;
        return ref categories[CategoryCount++];
    }

    /// <summary>
    /// Whether the id is remembered at <paramref name="now"/>: an entry past its <see cref="SeenEvent.ForgetAt"/> that no
    /// prune has removed yet (the buyer had no event or boundary since) is forgotten all the same, so when a re-sent
    /// id counts again depends on time alone, not on the buyer's other traffic.
    /// </summary>
    public bool HasSeen(ulong eventIdHash, long now)
    {
        foreach (ref readonly var entry in Seen)
        {
            if (entry.EventIdHash == eventIdHash && entry.ForgetAt > now)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Forgets the ids that would be forgotten first (earliest <see cref="SeenEvent.ForgetAt"/>) until <paramref name="keep"/> remain; returns how many.</summary>
    public int ForgetEarliestSeen(int keep)
    {
        var drop = SeenCount - keep;
        if (drop <= 0)
        {
            return 0;
        }

        var all = seen.AsSpan(0, SeenCount);
        all.Sort(static (a, b) => a.ForgetAt.CompareTo(b.ForgetAt));
        all[drop..].CopyTo(all);
        SeenCount = keep;
        return drop;
    }

    public void AddSeen(in SeenEvent entry)
    {
        if (SeenCount == seen.Length)
        {
            Array.Resize(ref seen, seen.Length * 2);
        }

        seen[SeenCount++] = entry;
    }

    /// <summary>
    /// Drops what can no longer affect any segment at <paramref name="now"/> or later: a pair with nothing in the
    /// window, past its sleeping horizon and published as none; an interest out of the window and published as
    /// left; seen ids whose re-send would change nothing. This is what keeps state from growing forever.
    /// </summary>
    /// <returns>Whether a pair or an interest was dropped (forgotten ids and orders alone need no write).</returns>
    public bool Prune(long now, Policy.SegmentPolicy policy)
    {
        var before = PairCount + CategoryCount;
        var keep = 0;
        for (var i = 0; i < PairCount; i++)
        {
            var pair = pairs[i];
            pair.ForgetOrdersBefore(now, policy.OrderRetention);
            var alive = pair.Published != Rules.Segment.None
                || pair.OrderCount > 0
                || (pair.LastInteraction != EventTime.None && pair.LastInteraction > now - policy.Window)
                || (pair.LastOrderEver != EventTime.None && now - pair.LastOrderEver < policy.SleepingHorizon);
            if (alive)
            {
                // Swap rather than copy so the dropped PairState object stays in the pool.
                (pairs[keep], pairs[i]) = (pairs[i], pairs[keep]);
                keep++;
            }
        }

        PairCount = keep;

        keep = 0;
        for (var i = 0; i < CategoryCount; i++)
        {
            ref var interest = ref categories[i];
            if (interest.Published || interest.LastInteraction > now - policy.Window)
            {
                categories[keep++] = interest;
            }
        }

        CategoryCount = keep;
        ForgetSeenUntil(now);
        return PairCount + CategoryCount != before;
    }

    /// <summary>Forgets the event ids whose <see cref="SeenEvent.ForgetAt"/> is at or before <paramref name="now"/>.</summary>
    public void ForgetSeenUntil(long now)
    {
        var keep = 0;
        for (var i = 0; i < SeenCount; i++)
        {
            if (seen[i].ForgetAt > now)
            {
                seen[keep++] = seen[i];
            }
        }

        SeenCount = keep;
    }
}
