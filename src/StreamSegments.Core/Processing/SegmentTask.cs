using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Rules;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Processing;

public enum ApplyOutcome : byte
{
    Applied = 0,
    DuplicateEvent = 1,
    DuplicateOrder = 2,
}

/// <summary>
/// One task (one partition of the co-partitioned input topics): its clock, its timers and its buyers. Applies
/// events in arrival order and fires timers as the clock passes them, publishing every change of a pair's
/// direct segment and of a buyer's category interest to the sink. Single-threaded by design.
/// </summary>
/// <remarks>
/// A change compares a pair's segment at T with its segment just before T, so everything at one instant is
/// evaluated once, when the clock passes that instant: an event applied at the clock updates the state and
/// queues its buyer for that instant, like a rule boundary; both fire, in (instant, buyer id) order, before the
/// first record of a later instant is applied (or when the clock is moved past it). Two orders in one
/// millisecond give one change, and a window exit and a new order in the same millisecond give none. A late
/// record (older than the clock) is stamped with the clock: it joins the evaluation of the clock's instant, so
/// however many late records arrive there, a pair changes at most once per instant.
/// </remarks>
public sealed class SegmentTask
{
    private readonly SegmentPolicy policy;
    private readonly IBuyerStateStore store;
    private readonly IChangeSink sink;
    private readonly BuyerState buyer = new();

    // Whether `buyer` holds its buyer exactly as last written: an event's own evaluation, when the clock passes
    // its instant, usually comes next, and so do a hot buyer's consecutive events; neither needs the record read
    // and decoded again.
    private bool holdsStoredBuyer;

    public SegmentTask(
        SegmentPolicy policy, IBuyerStateStore store, IChangeSink sink, SymbolTable sellers, SymbolTable categories,
        SellerCatalog? catalog = null, long clock = EventTime.None, TaskCounters? counters = null)
    {
        Counters = counters ?? new TaskCounters();
        this.policy = policy;
        this.store = store;
        this.sink = sink;
        Sellers = sellers;
        Categories = categories;
        Catalog = catalog ?? new SellerCatalog();
        Clock = new TaskClock(clock);
    }

    public TaskClock Clock { get; }

    public TimerQueue Timers { get; } = new();

    public SymbolTable Sellers { get; }

    public SymbolTable Categories { get; }

    public SellerCatalog Catalog { get; }

    public TaskCounters Counters { get; }

    public SegmentPolicy Policy => policy;

    public ApplyOutcome Apply(BuyerEvent e)
    {
        // A late record (older than the clock) still counts, stamped with the clock: nothing is lost, and no change is
        // ever stamped before one already published. Either waits for the clock's instant to pass.
        var late = e.OccurredAt < Clock.Now;
        AdvanceClockTo(e.OccurredAt);
        var now = Clock.Now;
        if (!TryLoad(e.BuyerId))
        {
            buyer.Reset(e.BuyerId);
        }

        if (buyer.HasSeen(e.EventIdHash, now))
        {
            Counters.DuplicateEvents++;
            return ApplyOutcome.DuplicateEvent;
        }

        // A re-send of an event already out of the window changes nothing, so its id need not be remembered longer.
        var forgetAt = e.OccurredAt + policy.Window;
        if (forgetAt > now)
        {
            buyer.AddSeen(new SeenEvent(e.EventIdHash, forgetAt));
            if (buyer.SeenCount > policy.MaxRememberedEventIds)
            {
                // Ids past their time that no prune has removed yet go first and do not count against the limit, so
                // whether a live id is forgotten early does not depend on when the buyer was last pruned. Then down to
                // nine tenths, so that a crawler pays for the sort once per tenth of the limit, not per event.
                buyer.ForgetSeenUntil(now);
                if (buyer.SeenCount > policy.MaxRememberedEventIds)
                {
                    Counters.EventIdsForgottenEarly += buyer.ForgetEarliestSeen(policy.MaxRememberedEventIds - (policy.MaxRememberedEventIds / 10));
                }
            }
        }

        var outcome = ApplyOutcome.Applied;
        if (e.Kind == EventKind.OrderPaid)
        {
            var pair = buyer.GetOrAddPair(e.Seller);
            if (pair.HasOrder(e.OrderIdHash, now, policy.OrderRetention))
            {
                // Ignored entirely, items included: a re-published order does not add to cats(s).
                Counters.DuplicateOrders++;
                outcome = ApplyOutcome.DuplicateOrder;
            }
            else
            {
                foreach (var category in e.ItemCategories)
                {
                    Learn(e.Seller, category);
                }

                var before = late ? SegmentRules.Evaluate(pair, now, policy).Segment : Segment.None;
                pair.AddOrder(new OrderEntry(e.OccurredAt, e.Amount, e.OrderIdHash));
                MarkLate(pair, now, late, before);
            }
        }
        else
        {
            // A removal is no interaction and teaches cats(s) nothing: it changes no segment, the seller's
            // interested-categories included.
            if (e.Kind.IsInteraction())
            {
                Learn(e.Seller, e.Category);
                var pair = buyer.GetOrAddPair(e.Seller);
                var before = late ? SegmentRules.Evaluate(pair, now, policy).Segment : Segment.None;
                pair.RecordInteraction(e.OccurredAt);
                MarkLate(pair, now, late, before);
                ref var interest = ref buyer.GetOrAddCategory(e.Category);
                var wasInterested = SegmentRules.IsInterested(interest, now, policy);
                interest.LastInteraction = Math.Max(interest.LastInteraction, e.OccurredAt);
                interest.LatePending |= late && SegmentRules.IsInterested(interest, now, policy) != wasInterested;
            }
        }

        if (outcome == ApplyOutcome.Applied)
        {
            Counters.EventsApplied++;
            if (e.Kind == EventKind.OrderPaid || e.Kind.IsInteraction())
            {
                // Recognised at its instant by the event itself, or by the late flag (HasEventAt), after a restore too.
                Timers.Schedule(buyer.BuyerId, now);
            }
        }

        // Not evaluated at its instant yet: what leaves the window exactly now (an order when the window is the
        // longest retention) must stay for that evaluation.
        Finish(now, evaluated: false);
        return outcome;
    }

    /// <summary>
    /// Moves the clock to <paramref name="instant"/>, evaluating everything due at or before it (events at the
    /// clock, rule boundaries) in time order: for the end of a replay, whose as-of instant is the last one.
    /// </summary>
    public void AdvanceTo(long instant)
    {
        FireTimers(instant);
        Clock.AdvanceTo(instant);
    }

    /// <summary>
    /// Moves the clock to <paramref name="instant"/> as a record at that instant would: what is due before it is
    /// evaluated, what is due at it waits until the clock passes it, since more records of that instant may come.
    /// </summary>
    public void AdvanceClockTo(long instant)
    {
        if (instant > Clock.Now)
        {
            FireTimers(instant - 1);
            Clock.AdvanceTo(instant);
        }
    }

    /// <summary>
    /// Evaluates every pair and category interest of a buyer at the clock and publishes what differs from what was
    /// published (cause <see cref="ChangeCause.PolicyChange"/>): for state restored under another policy than the
    /// one it was published under. Timers and pruning follow the current policy, as after any change.
    /// </summary>
    public void Reevaluate(ReadOnlySpan<byte> buyerId)
    {
        var now = Clock.Now;
        if (now == EventTime.None || !TryLoad(buyerId))
        {
            return;
        }

        // What has an event at the clock, or a late record stamped with it, waits for its own evaluation (queued
        // again by the restore): it is that event's change, and the rest of its millisecond may still come.
        Finish(now, mustWrite: EvaluateAll(now, ChangeCause.PolicyChange, exceptEventsAtNow: true));
    }

    /// <summary>
    /// Hands the sink what a buyer holds as last published, at the clock: every pair's segment but none, every interest
    /// entered (<see cref="IChangeSink.SegmentRestated"/>), with the measures at the clock. For a consumer of current
    /// state that starts late; the state and the timers are unchanged. A pair or interest whose evaluation at the clock
    /// differs from what was published (an event, a late record or a boundary at the clock's instant, not evaluated
    /// yet) is left out: its change follows when the clock passes that instant, and says what holds.
    /// </summary>
    public void Restate(ReadOnlySpan<byte> buyerId)
    {
        var now = Clock.Now;
        if (now == EventTime.None || !TryLoad(buyerId))
        {
            return;
        }

        foreach (var pair in buyer.Pairs)
        {
            if (pair.Published == Segment.None)
            {
                continue;
            }

            var measures = SegmentRules.Evaluate(pair, now, policy);
            if (measures.Segment != pair.Published)
            {
                continue;
            }

            sink.SegmentRestated(new SegmentChange
            {
                SellerId = Sellers.NameOf(pair.Seller),
                BuyerId = buyer.BuyerId,
                From = pair.Published,
                To = pair.Published,
                EffectiveAt = now,
                Cause = ChangeCause.Restated,
                Measures = measures,
            });
        }

        foreach (ref readonly var interest in buyer.Categories)
        {
            if (interest.Published && SegmentRules.IsInterested(interest, now, policy))
            {
                sink.CategoryInterestRestated(new CategoryInterestChange
                {
                    CategoryId = Categories.NameOf(interest.Category),
                    BuyerId = buyer.BuyerId,
                    Entered = true,
                    EffectiveAt = now,
                    Cause = ChangeCause.Restated,
                });
            }
        }
    }

    /// <summary>
    /// Registers a recovered buyer's timers: a boundary or an event at the clock's own instant (it may not have been
    /// evaluated before the checkpoint; evaluating twice changes nothing), the next boundary after the clock, and the instant its
    /// stored <see cref="BuyerState.ScheduledTimer"/> names, because <see cref="Finish"/> trusts that an entry
    /// for it is queued and would otherwise never push it again.
    /// </summary>
    public void RestoreTimer(BuyerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = Clock.Now;
        if (now == EventTime.None)
        {
            return;
        }

        if (NextDue(state, now - 1) == now || HasEventAt(state, now))
        {
            Timers.Schedule(state.BuyerId, now);
        }

        var next = NextDue(state, now);
        if (next != EventTime.None)
        {
            Timers.Schedule(state.BuyerId, next);
        }

        if (state.ScheduledTimer > now && state.ScheduledTimer != next)
        {
            Timers.Schedule(state.BuyerId, state.ScheduledTimer);
        }
    }

    private void FireTimers(long until)
    {
        while (Timers.TryTakeDue(until, out var buyerId, out var due))
        {
            // A queue entry is a hint: it is live only if the buyer really has a boundary or an event at that instant.
            if (!TryLoad(buyerId))
            {
                continue;
            }

            var boundary = NextDue(buyer, due - 1) == due;
            if (!boundary && !HasEventAt(buyer, due))
            {
                // The buyer's queued entry, which its boundary has moved past since (Finish keeps the earlier entry
                // instead of adding one per event): queue the boundary that is now the next. The record keeps the
                // old instant; that only costs a later event one push that may prove redundant.
                if (buyer.ScheduledTimer == due && NextDue(buyer, due) is var next && next != EventTime.None)
                {
                    Timers.Schedule(buyerId, next);
                }

                continue;
            }

            if (boundary)
            {
                Counters.TimersFired++;
            }

            // A boundary that changed nothing (one of five orders leaving the window) needs no write.
            Finish(due, mustWrite: EvaluateAll(due, cause: null));
        }
    }

    /// <summary>
    /// Evaluates every pair and category interest of the loaded buyer at <paramref name="now"/>; true if any changed.
    /// A change's cause is <paramref name="cause"/>, or when null an event at that instant, else the boundary there.
    /// With <paramref name="exceptEventsAtNow"/>, those with an event at <paramref name="now"/> are left alone.
    /// </summary>
    private bool EvaluateAll(long now, ChangeCause? cause, bool exceptEventsAtNow = false)
    {
        var changed = false;
        foreach (var pair in buyer.Pairs)
        {
            var eventNow = HasEventAt(pair, now);
            if (!(exceptEventsAtNow && eventNow))
            {
                // A cleared late flag must be written too, or a restore would take the pair as waiting still.
                changed |= pair.LatePending;
                pair.LatePending = false;
                changed |= EvaluatePair(pair, now, cause ?? (eventNow ? ChangeCause.Event : null));
            }
        }

        foreach (ref var interest in buyer.Categories)
        {
            if (!(exceptEventsAtNow && HasEventAt(interest, now)))
            {
                changed |= interest.LatePending;
                interest.LatePending = false;
                changed |= EvaluateCategory(ref interest, now, cause);
            }
        }

        return changed;
    }

    /// <summary>
    /// Flags a pair whose segment at the clock a late record changed: that change is the record's (cause event), and
    /// waits for the clock's instant to pass. A late record that changes nothing there leaves the instant to time.
    /// </summary>
    private void MarkLate(PairState pair, long now, bool late, Segment before) =>
        pair.LatePending |= late && SegmentRules.Evaluate(pair, now, policy).Segment != before;

    /// <summary>Whether the buyer received a counted event at <paramref name="instant"/>: one to evaluate when the clock passes it.</summary>
    private static bool HasEventAt(BuyerState state, long instant)
    {
        foreach (var pair in state.Pairs)
        {
            if (HasEventAt(pair, instant))
            {
                return true;
            }
        }

        foreach (ref readonly var interest in state.Categories)
        {
            if (HasEventAt(interest, instant))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// An event at <paramref name="instant"/>, or a late record stamped with it: the flag is set only at the clock's
    /// instant and cleared by the evaluation there, the first the pair's buyer gets.
    /// </summary>
    private static bool HasEventAt(PairState pair, long instant)
    {
        if (pair.LastInteraction == instant || pair.LatePending)
        {
            return true;
        }

        foreach (ref readonly var order in pair.Orders)
        {
            if (order.At == instant)
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasEventAt(in CategoryInterest interest, long instant) =>
        interest.LastInteraction == instant || interest.LatePending;

    private bool EvaluatePair(PairState pair, long now, ChangeCause? cause)
    {
        var evaluation = SegmentRules.Evaluate(pair, now, policy);
        if (evaluation.Segment == pair.Published)
        {
            return false;
        }

        var change = new SegmentChange
        {
            SellerId = Sellers.NameOf(pair.Seller),
            BuyerId = buyer.BuyerId,
            From = pair.Published,
            To = evaluation.Segment,
            EffectiveAt = now,
            Cause = cause ?? SegmentRules.BoundaryAt(pair, now, policy),
            Measures = evaluation,
        };
        pair.Published = evaluation.Segment;
        Counters.SegmentChanges++;
        sink.SegmentChanged(change);
        return true;
    }

    private bool EvaluateCategory(ref CategoryInterest interest, long now, ChangeCause? cause)
    {
        var interested = SegmentRules.IsInterested(interest, now, policy);
        if (interested == interest.Published)
        {
            return false;
        }

        // Only an interaction (at this instant, or late) makes a buyer interested, and only time makes one leave.
        cause ??= interested ? ChangeCause.Event : ChangeCause.WindowExit;

        interest.Published = interested;
        Counters.CategoryInterestChanges++;
        sink.CategoryInterestChanged(new CategoryInterestChange
        {
            CategoryId = Categories.NameOf(interest.Category),
            BuyerId = buyer.BuyerId,
            Entered = interested,
            EffectiveAt = now,
            Cause = cause.Value,
        });
        return true;
    }

    /// <summary>Loads a buyer into <see cref="buyer"/>, unless it holds that buyer already.</summary>
    private bool TryLoad(ReadOnlySpan<byte> buyerId)
    {
        if (holdsStoredBuyer && buyer.BuyerId.SequenceEqual(buyerId))
        {
            return true;
        }

        holdsStoredBuyer = store.TryLoad(buyerId, buyer);
        return holdsStoredBuyer;
    }

    /// <summary>
    /// Stores a fact of cats(s) the task knows and hands it to the sink: as it is learned, and for facts an earlier
    /// build learned without publishing them.
    /// </summary>
    public void HandOverLearned(int seller, int category)
    {
        store.SaveCatalogEntry(seller, category);
        sink.SellerCategoryLearned(Sellers.NameOf(seller), Categories.NameOf(category), Clock.Now);
    }

    private void Learn(int seller, int category)
    {
        if (Catalog.Learn(seller, category))
        {
            HandOverLearned(seller, category);
        }
    }

    /// <summary>
    /// Drops what can no longer matter, reschedules the buyer's timer, and writes the buyer back. Unless the buyer was
    /// just <paramref name="evaluated"/> at <paramref name="now"/>, only what could not matter just before it is dropped.
    /// </summary>
    private void Finish(long now, bool mustWrite = true, bool evaluated = true)
    {
        var dropped = buyer.Prune(evaluated ? now : now - 1, policy);
        if (buyer.IsEmpty)
        {
            store.Delete(buyer.BuyerId);
            holdsStoredBuyer = false;
            return;
        }

        // Only a written buyer is held as stored: pruning alone (forgotten event ids and orders) is not written, and
        // a later load must see what a restarted task would.
        holdsStoredBuyer = mustWrite || dropped;

        // One entry per buyer, at or before its next boundary: a push only when the boundary comes before the
        // queued entry (or none is queued). When it moved later, as most events move it (a view pushes its window
        // exit on), the queued entry stays and reschedules when it pops; a push per event would keep an entry per
        // event of the last window in the queue, each costing a load when it pops.
        var next = NextDue(buyer, now);
        if (next != EventTime.None && (buyer.ScheduledTimer <= now || next < buyer.ScheduledTimer))
        {
            buyer.ScheduledTimer = next;
            Timers.Schedule(buyer.BuyerId, next);
        }

        if (mustWrite || dropped)
        {
            store.Save(buyer);
        }
    }

    /// <summary>
    /// The buyer's earliest rule boundary after <paramref name="now"/>. When nothing of the buyer can change any
    /// more but its recent event ids, the instant the last of them may be forgotten, so the record is deleted then.
    /// </summary>
    private long NextDue(BuyerState state, long now)
    {
        var next = long.MaxValue;
        foreach (var pair in state.Pairs)
        {
            var boundary = SegmentRules.NextBoundary(pair, now, policy);
            if (boundary != EventTime.None)
            {
                next = Math.Min(next, boundary);
            }
        }

        foreach (ref readonly var interest in state.Categories)
        {
            var exit = interest.LastInteraction + policy.Window;
            if (interest.LastInteraction != EventTime.None && exit > now)
            {
                next = Math.Min(next, exit);
            }
        }

        if (next == long.MaxValue && state.PairCount == 0 && state.CategoryCount == 0)
        {
            foreach (ref readonly var seen in state.Seen)
            {
                next = next == long.MaxValue ? seen.ForgetAt : Math.Max(next, seen.ForgetAt);
            }
        }

        return next == long.MaxValue || next <= now ? EventTime.None : next;
    }
}
