using System.Runtime.InteropServices;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.State;

/// <summary>A counted paid order: when, how much, and a hash of its id (to ignore a re-sent order).</summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct OrderEntry(long At, decimal Amount, ulong OrderIdHash);

/// <summary>
/// What a (seller, buyer) pair needs to evaluate its segment at any instant: its orders (kept while they can
/// matter: in the window, or while their id must still reject a re-send), its latest order ever, its latest
/// interaction, and the segment last published for it. Instances are pooled by <see cref="BuyerState"/>.
/// </summary>
public sealed class PairState
{
    private OrderEntry[] orders = new OrderEntry[4];

    public int Seller { get; internal set; }

    /// <summary>The direct segment last published on the change stream.</summary>
    public Segment Published { get; set; }

    /// <summary>
    /// A late record (older than the task's clock) changed the pair, stamped with the clock's instant, and its
    /// evaluation waits for the clock to pass that instant, like an event at the clock: nothing else in the state
    /// says so, and a restore must queue it again.
    /// </summary>
    public bool LatePending { get; set; }

    public long LastOrderEver { get; internal set; } = EventTime.None;

    public long LastInteraction { get; internal set; } = EventTime.None;

    public int OrderCount { get; private set; }

    /// <summary>Orders sorted by time (oldest first).</summary>
    public ReadOnlySpan<OrderEntry> Orders => orders.AsSpan(0, OrderCount);

    internal void Reset(int seller)
    {
        Seller = seller;
        Published = Segment.None;
        LatePending = false;
        LastOrderEver = EventTime.None;
        LastInteraction = EventTime.None;
        OrderCount = 0;
    }

    /// <summary>
    /// Whether a counted order has this id and is still remembered at <paramref name="now"/> (within
    /// <paramref name="retention"/>), as <see cref="BuyerState.HasSeen"/> is for event ids.
    /// </summary>
    public bool HasOrder(ulong orderIdHash, long now, long retention)
    {
        foreach (ref readonly var order in Orders)
        {
            if (order.OrderIdHash == orderIdHash && order.At > now - retention)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Adds an order, keeping the list sorted (late orders land in place).</summary>
    public void AddOrder(in OrderEntry order)
    {
        if (OrderCount == orders.Length)
        {
            Array.Resize(ref orders, orders.Length * 2);
        }

        var i = OrderCount;
        while (i > 0 && orders[i - 1].At > order.At)
        {
            orders[i] = orders[i - 1];
            i--;
        }

        orders[i] = order;
        OrderCount++;
        if (order.At > LastOrderEver)
        {
            LastOrderEver = order.At;
        }
    }

    public void RecordInteraction(long at)
    {
        if (at > LastInteraction)
        {
            LastInteraction = at;
        }
    }

    /// <summary>Forgets orders older than <paramref name="retention"/> at <paramref name="now"/>; they cannot matter any more.</summary>
    internal void ForgetOrdersBefore(long now, long retention)
    {
        var drop = 0;
        while (drop < OrderCount && orders[drop].At <= now - retention)
        {
            drop++;
        }

        if (drop > 0)
        {
            orders.AsSpan(drop, OrderCount - drop).CopyTo(orders);
            OrderCount -= drop;
        }
    }

    internal void RestoreFrom(int seller, Segment published, bool latePending, long lastOrderEver, long lastInteraction, int orderCount)
    {
        Reset(seller);
        Published = published;
        LatePending = latePending;
        LastOrderEver = lastOrderEver;
        LastInteraction = lastInteraction;
        if (orders.Length < orderCount)
        {
            orders = new OrderEntry[Math.Max(orderCount, orders.Length * 2)];
        }

        OrderCount = orderCount;
    }

    internal Span<OrderEntry> OrderSlots => orders.AsSpan(0, OrderCount);
}
