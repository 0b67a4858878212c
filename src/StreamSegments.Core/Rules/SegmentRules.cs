using System.Runtime.InteropServices;
using StreamSegments.Core.Policy;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Rules;

/// <summary>The measures of a pair at an instant, and the direct segment and RFM code they give.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct PairEvaluation(
    Segment Segment,
    RfmScore Rfm,
    int Orders,
    decimal Amount,
    long LastOrder,
    long LastOrderEver,
    bool Interacted);

/// <summary>What made a change happen: an event, or time crossing one of the rule boundaries.</summary>
public enum ChangeCause : byte
{
    Event = 0,
    WindowExit = 1,
    Recency = 2,
    SleepingHorizon = 3,

    /// <summary>The thresholds changed: the worker restored state published under other ones and re-evaluated it.</summary>
    PolicyChange = 4,

    /// <summary>
    /// Not a change: the state as it stands, published to a current-state table the worker was not filling before
    /// (<see cref="Processing.IChangeSink.SegmentRestated"/>); from and to are the same.
    /// </summary>
    Restated = 5,
}

/// <summary>
/// The segment rules of shared/segment-rules.md as pure functions of a pair's state and an instant T.
/// </summary>
public static class SegmentRules
{
    /// <summary>The direct segment (first rule that matches), with its measures and RFM code, at <paramref name="now"/>.</summary>
    public static PairEvaluation Evaluate(PairState pair, long now, SegmentPolicy policy)
    {
        var windowStart = now - policy.Window;
        var n = 0;
        var total = 0m;
        var totalExact = true;
        var lastOrder = EventTime.None;
        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At > windowStart && order.At <= now)
            {
                n++;
                var sum = total + order.Amount;

                // A decimal sum rounds only by scaling down: at the operands' larger scale it is exact.
                totalExact &= sum.Scale == Math.Max(total.Scale, order.Amount.Scale);
                total = sum;
                lastOrder = order.At;
            }
        }

        var interacted = pair.LastInteraction != EventTime.None && pair.LastInteraction > windowStart
            && pair.LastInteraction <= now;
        var lastOrderEver = LastOrderEverAt(pair, now);

        RfmScore rfm = default;
        Segment segment;
        if (n >= 1)
        {
            rfm = Score(n, MonetaryScore(pair, windowStart, now, n, total, totalExact, policy), now - lastOrder, policy);
            segment = n switch
            {
                >= 3 => rfm.Sum <= policy.TopScoreAtMost ? Segment.RegularTop
                    : rfm.Sum <= policy.LoyalScoreAtMost ? Segment.RegularLoyal
                    : Segment.RegularRisky,
                2 => Segment.Returning,
                _ => Segment.New,
            };
        }
        else if (interacted)
        {
            segment = Segment.InterestedProducts;
        }
        else if (lastOrderEver != EventTime.None && now - lastOrderEver < policy.SleepingHorizon)
        {
            segment = Segment.Sleeping;
        }
        else
        {
            segment = Segment.None;
        }

        return new PairEvaluation(segment, rfm, n, total, lastOrder, lastOrderEver, interacted);
    }

    private static RfmScore Score(int orders, byte monetary, long sinceLastOrder, SegmentPolicy policy)
    {
        // Recency days = floor(elapsed / D); "days < 30" is the same as "elapsed < 30 D" for whole days.
        byte r = sinceLastOrder < policy.RecencyScore1Below ? (byte)1 : sinceLastOrder < policy.RecencyScore2Below ? (byte)2 : (byte)3;
        byte f = orders >= policy.FrequencyScore1AtLeast ? (byte)1 : orders >= policy.FrequencyScore2AtLeast ? (byte)2 : (byte)3;
        return new RfmScore(r, f, monetary);
    }

    /// <summary>
    /// M: aov >= x  &lt;=&gt;  total >= x * n, compared without dividing. In decimal when the total and both products
    /// are exact, as they are for any amounts with a few decimals; otherwise (28-digit amounts whose total needs more)
    /// the window's orders are summed again exactly.
    /// </summary>
    private static byte MonetaryScore(PairState pair, long windowStart, long now, int orders, decimal total, bool totalExact, SegmentPolicy policy)
    {
        var top = policy.MonetaryScore1AtLeast * orders;
        var middle = policy.MonetaryScore2AtLeast * orders;
        if (totalExact && top.Scale == policy.MonetaryScore1AtLeast.Scale && middle.Scale == policy.MonetaryScore2AtLeast.Scale)
        {
            return total >= top ? (byte)1 : total >= middle ? (byte)2 : (byte)3;
        }

        var exact = default(ExactAmount);
        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At > windowStart && order.At <= now)
            {
                exact.Add(order.Amount);
            }
        }

        return exact.AtLeast(policy.MonetaryScore1AtLeast, orders) ? (byte)1
            : exact.AtLeast(policy.MonetaryScore2AtLeast, orders) ? (byte)2 : (byte)3;
    }

    /// <summary>
    /// The earliest instant after <paramref name="now"/> at which time alone may change the pair's segment:
    /// an order or interaction leaving the window, a recency threshold of a regular, the sleeping horizon.
    /// </summary>
    public static long NextBoundary(PairState pair, long now, SegmentPolicy policy)
    {
        var next = long.MaxValue;
        var windowStart = now - policy.Window;
        var inWindow = 0;
        var lastOrder = EventTime.None;
        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At > windowStart && order.At <= now)
            {
                if (inWindow == 0)
                {
                    next = Math.Min(next, order.At + policy.Window);
                }

                inWindow++;
                lastOrder = order.At;
            }
        }

        if (inWindow >= 3)
        {
            Consider(ref next, lastOrder + policy.RecencyScore1Below, now);
            Consider(ref next, lastOrder + policy.RecencyScore2Below, now);
        }

        if (pair.LastInteraction != EventTime.None)
        {
            Consider(ref next, pair.LastInteraction + policy.Window, now);
        }

        if (pair.LastOrderEver != EventTime.None)
        {
            Consider(ref next, pair.LastOrderEver + policy.SleepingHorizon, now);
        }

        return next == long.MaxValue ? EventTime.None : next;
    }

    /// <summary>Which boundary lies at <paramref name="instant"/>, to say why a time-driven change happened.</summary>
    public static ChangeCause BoundaryAt(PairState pair, long instant, SegmentPolicy policy)
    {
        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At + policy.Window == instant)
            {
                return ChangeCause.WindowExit;
            }
        }

        if (pair.LastInteraction != EventTime.None && pair.LastInteraction + policy.Window == instant)
        {
            return ChangeCause.WindowExit;
        }

        if (pair.LastOrderEver != EventTime.None && pair.LastOrderEver + policy.SleepingHorizon == instant)
        {
            return ChangeCause.SleepingHorizon;
        }

        return ChangeCause.Recency;
    }

    public static bool IsInterested(in CategoryInterest interest, long now, SegmentPolicy policy) =>
        interest.LastInteraction != EventTime.None && interest.LastInteraction > now - policy.Window
        && interest.LastInteraction <= now;

    private static long LastOrderEverAt(PairState pair, long now)
    {
        if (pair.LastOrderEver <= now)
        {
            return pair.LastOrderEver;
        }

        // Only reachable when evaluating before the clock (tests, queries): take the latest order at or before now.
        var latest = EventTime.None;
        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At <= now)
            {
                latest = order.At;
            }
        }

        return latest;
    }

    private static void Consider(ref long next, long candidate, long now)
    {
        if (candidate > now && candidate < next)
        {
            next = candidate;
        }
    }
}
