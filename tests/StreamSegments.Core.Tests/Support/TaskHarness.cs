using System.Text;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Tests.Support;

/// <summary>
/// A task wired to a parser, the encoded store and a recording sink: feed it JSON lines, advance it, read back
/// the changes and a snapshot. The same path the replay verb takes, minus files and FASTER.
/// </summary>
public sealed class TaskHarness
{
    private readonly EventParser parser;
    private readonly BuyerEvent parsed = new();

    public TaskHarness(SegmentPolicy? policy = null)
    {
        Policy = policy ?? new SegmentPolicy();
        var sellers = new SymbolTable();
        var categories = new SymbolTable();
        Store = new EncodedStateStore(sellers, categories);
        Task = new SegmentTask(Policy, Store, Sink, sellers, categories);
        parser = new EventParser(sellers, categories);
    }

    private TaskHarness(TaskHarness before, SegmentPolicy policy)
    {
        Policy = policy;
        Store = before.Store;
        Task = new SegmentTask(policy, Store, Sink, before.Task.Sellers, before.Task.Categories, before.Task.Catalog, clock: before.Task.Clock.Now);
        parser = new EventParser(before.Task.Sellers, before.Task.Categories);
        foreach (var id in Store.BuyerIds.ToList())
        {
            Task.RestoreTimer(Store.Load(id));
        }
    }

    public SegmentPolicy Policy { get; }

    public EncodedStateStore Store { get; }

    public RecordingSink Sink { get; } = new();

    public SegmentTask Task { get; }

    public List<EventRejection> Rejections { get; } = [];

    /// <summary>
    /// A second task over this one's store and symbols, as a restart restores it: the clock and the timers from the
    /// state (under <paramref name="policy"/>, this one's by default), its own sink. This one is not used after.
    /// </summary>
    public TaskHarness Restarted(SegmentPolicy? policy = null) => new(this, policy ?? Policy);

    /// <summary>Parses and applies one JSON record; null when it was rejected (the rejection is recorded).</summary>
    public ApplyOutcome? Send(string json)
    {
        if (!parser.TryParse(Encoding.UTF8.GetBytes(json), parsed, out var rejection))
        {
            Rejections.Add(rejection);
            return null;
        }

        return Task.Apply(parsed);
    }

    /// <summary>Evaluates everything due at or before <paramref name="instant"/> (as the end of a replay does).</summary>
    public void AdvanceTo(string instant) => Task.AdvanceTo(EventTime.Parse(instant));

    /// <summary>Moves the clock as a record at <paramref name="instant"/> or the worker's wall clock does: what is at it waits.</summary>
    public void AdvanceClockTo(string instant) => Task.AdvanceClockTo(EventTime.Parse(instant));

    /// <summary>Every (seller, segment, rfm) of every stored buyer at <paramref name="asOf"/>, interested-categories included.</summary>
    public List<(string SellerId, string BuyerId, string Segment, string? Rfm)> Snapshot(string asOf)
    {
        var rows = new SnapshotRows();
        var builder = new SnapshotBuilder(Policy, Task.Sellers, Task.Catalog);
        foreach (var buyerId in Store.BuyerIds.ToList())
        {
            builder.Emit(Store.Load(buyerId), EventTime.Parse(asOf), rows);
        }

        return rows.Rows;
    }

    private sealed class SnapshotRows : ISnapshotSink
    {
        public List<(string, string, string, string?)> Rows { get; } = [];

        public void Row(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> buyerId, Segment segment, RfmScore rfm) =>
            Rows.Add((Encoding.UTF8.GetString(sellerId), Encoding.UTF8.GetString(buyerId), segment.ToWireName(),
                rfm.IsDefined ? rfm.ToString() : null));
    }
}
