using System.Text;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Support;

public sealed record RecordedSegmentChange(
    string SellerId, string BuyerId, string? From, string? To, string EffectiveAt, ChangeCause Cause, string? Rfm, int Orders, decimal Amount,
    string? LastOrderAt = null, string? LastOrderEverAt = null);

public sealed record RecordedInterestChange(string CategoryId, string BuyerId, string Change, string EffectiveAt, ChangeCause Cause);

/// <summary>Collects a task's changes as plain records, with the wire names and times the outputs use.</summary>
public sealed class RecordingSink : IChangeSink
{
    public List<RecordedSegmentChange> Segments { get; } = [];

    public List<RecordedInterestChange> Interests { get; } = [];

    /// <summary>What <see cref="SegmentTask.Restate"/> handed over, kept apart from the changes.</summary>
    public RecordingSink Restated => restated ??= new RecordingSink();

    private RecordingSink? restated;

    /// <summary>One buyer's segment changes, as (from, to, effectiveAt, cause), in the order published.</summary>
    public List<(string? From, string? To, string At, ChangeCause Cause)> ChangesOf(string buyerId) =>
        Segments.Where(c => c.BuyerId == buyerId).Select(c => (c.From, c.To, c.EffectiveAt, c.Cause)).ToList();

    public void SegmentChanged(in SegmentChange change) => Segments.Add(new RecordedSegmentChange(
        Encoding.UTF8.GetString(change.SellerId),
        Encoding.UTF8.GetString(change.BuyerId),
        change.From == Segment.None ? null : change.From.ToWireName(),
        change.To == Segment.None ? null : change.To.ToWireName(),
        EventTime.Format(change.EffectiveAt),
        change.Cause,
        change.Measures.Rfm.IsDefined ? change.Measures.Rfm.ToString() : null,
        change.Measures.Orders,
        change.Measures.Amount,
        change.Measures.LastOrder == EventTime.None ? null : EventTime.Format(change.Measures.LastOrder),
        change.Measures.LastOrderEver == EventTime.None ? null : EventTime.Format(change.Measures.LastOrderEver)));

    public void SegmentRestated(in SegmentChange current) => Restated.SegmentChanged(current);

    public void CategoryInterestRestated(in CategoryInterestChange current) => Restated.CategoryInterestChanged(current);

    public void CategoryInterestChanged(in CategoryInterestChange change) => Interests.Add(new RecordedInterestChange(
        Encoding.UTF8.GetString(change.CategoryId),
        Encoding.UTF8.GetString(change.BuyerId),
        change.Entered ? "entered" : "left",
        EventTime.Format(change.EffectiveAt),
        change.Cause));
}
