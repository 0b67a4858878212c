using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Serialization;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;
using StreamSegments.Storage;
using StreamSegments.Worker.Output;

namespace StreamSegments.Worker.Replay;

/// <summary>
/// The <c>replay</c> verb: runs a file of input events through one task (parser, engine, FASTER store) and
/// writes the changes, the category interest changes, the rejects and the snapshot at <c>--as-of</c>.
/// With a state directory it checkpoints periodically and resumes from the newest checkpoint, cutting each
/// output back to the length the checkpoint recorded, so a stopped and resumed run writes exactly what an
/// uninterrupted one does.
/// </summary>
public sealed partial class ReplayRunner(
    IOptions<ReplayOptions> replayOptions,
    IOptions<SegmentPolicy> policyOptions,
    IOptions<StateStoreOptions> stateOptions,
    ILogger<ReplayRunner> logger)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(10);

    public async Task<ReplayCounters> RunAsync(CancellationToken cancellationToken)
    {
        var options = replayOptions.Value;
        var policy = policyOptions.Value;
        var asOf = options.AsOfInstant();
        var persistent = !string.IsNullOrEmpty(options.StateDirectory);
        var stateDirectory = persistent
            ? options.StateDirectory!
            : Path.Combine(Path.GetTempPath(), $"streamsegments-replay-{Guid.NewGuid():N}");
        var stopwatch = Stopwatch.StartNew();

        try
        {
            using var hold = StateDirectoryLock.Acquire(stateDirectory);
            var sellers = new SymbolTable();
            var categories = new SymbolTable();
            using var store = new FasterBuyerStateStore(Path.Combine(stateDirectory, "task-0"), stateOptions.Value, sellers, categories);
            var resume = await RecoverAsync(store, options, policy, cancellationToken);
            var counters = resume?.Counters ?? new ReplayCounters();
            var linesAtStart = counters.Lines;

            // Written at the end, but opened now: a path it cannot be written to must not cost the whole replay. It is
            // written beside its path and moved over it once complete, so a replay that stops or is refused before
            // that leaves the last snapshot as it was.
            var partialSnapshot = options.Snapshot + ".partial";
            using var snapshot = JsonLinesWriter.Create(partialSnapshot);
            using var changes = JsonLinesWriter.Open(options.Changes, resume?.ChangesLength ?? 0);
            using var categoryChanges = JsonLinesWriter.Open(options.CategoryChanges, resume?.CategoryChangesLength ?? 0);
            using var rejects = string.IsNullOrEmpty(options.Rejects) ? null : JsonLinesWriter.Open(options.Rejects, resume?.RejectsLength ?? 0);

            var task = new SegmentTask(policy, store, new FileChangeSink(changes, categoryChanges), sellers, categories,
                clock: resume?.Clock ?? EventTime.None, counters: counters.Task);
            if (resume is not null)
            {
                store.RestoreInto(task);
                if (logger.IsEnabled(LogLevel.Information))
                {
                    LogResumed(resume.Line, ClockText(resume.Clock), task.Timers.Count);
                }
            }

            var parser = new EventParser(sellers, categories);
            var batch = new LineBatch();
            using var reader = new LineReader(
                new FileStream(options.Input, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan),
                EventParser.MaxEventBytes, resume?.InputOffset ?? 0, resume?.Line ?? 0);
            if (resume?.InputHash is { } replayed && replayed != HashText(reader.ConsumedHash))
            {
                throw new SetupException(
                    $"The first {resume.InputOffset} bytes of '{options.Input}' are not those the checkpoint was taken over; the input was changed since. Use a fresh --state-dir.");
            }

            var sinceCheckpoint = 0;
            var nextProgress = stopwatch.Elapsed + ProgressInterval;
            var latest = task.Clock.Now;
            while (batch.Fill(reader, parser, asOf, counters))
            {
                // Buyers of the whole batch, and those whose timers will fire before its last event, are read
                // from disk in one round of parallel I/O.
                store.BeginPrefetch();
                foreach (var e in batch.ToApply)
                {
                    store.Prefetch(e.BuyerId);
                    latest = Math.Max(latest, e.OccurredAt);
                }

                if (latest != EventTime.None)
                {
                    task.Timers.PeekDue(latest - 1, LineBatch.Capacity * 2, store, static (buyerId, store) => store.Prefetch(buyerId));
                }

                store.CompletePrefetch();
                for (var i = 0; i < batch.Count; i++)
                {
                    switch (batch.Outcomes[i])
                    {
                        case LineOutcome.Apply:
                            task.Apply(batch.Events[i]);
                            break;
                        case LineOutcome.Rejected:
                            Reject(rejects, counters, batch.LineNumbers[i], batch.Rejections[i]);
                            break;
                        default:
                            counters.AfterAsOf++;
                            break;
                    }
                }

                cancellationToken.ThrowIfCancellationRequested();
                sinceCheckpoint += batch.Count;
                // Also when the log has outgrown its compaction threshold before that many lines: large records rewritten
                // at every event can write tens of gigabytes between two line-count checkpoints.
                if (sinceCheckpoint >= options.CheckpointEvery || store.CompactionDue)
                {
                    sinceCheckpoint = 0;
                    if (persistent)
                    {
                        await CheckpointAsync(store, options, policy, reader, task, counters, changes, categoryChanges, rejects, completed: false, cancellationToken);
                    }
                    else
                    {
                        store.CompactWithoutCheckpoint();
                    }
                }

                if (stopwatch.Elapsed >= nextProgress && logger.IsEnabled(LogLevel.Information))
                {
                    nextProgress = stopwatch.Elapsed + ProgressInterval;
                    LogProgress(counters.Lines, ClockText(task.Clock.Now), (long)((counters.Lines - linesAtStart) / stopwatch.Elapsed.TotalSeconds));
                }
            }

            task.AdvanceTo(asOf);
            var eventsDone = stopwatch.Elapsed;
            counters.SnapshotRows = WriteSnapshot(store, task, policy, snapshot, asOf);
            snapshot.Flush(durable: persistent);
            snapshot.Dispose();
            File.Move(partialSnapshot, options.Snapshot, overwrite: true);
            var snapshotTime = stopwatch.Elapsed - eventsDone;

            changes.Flush(durable: persistent);
            categoryChanges.Flush(durable: persistent);
            rejects?.Flush(durable: persistent);
            if (persistent)
            {
                await CheckpointAsync(store, options, policy, reader, task, counters, changes, categoryChanges, rejects, completed: true, cancellationToken);
            }

            var elapsed = stopwatch.Elapsed;
            var processed = counters.Lines - linesAtStart;
            await Console.Error.WriteLineAsync(
                $"replay: {counters.Lines} lines, {counters.Task.EventsApplied} events applied, {counters.Task.DuplicateEvents + counters.Task.DuplicateOrders} duplicates, " +
                $"{counters.Rejected} rejected, {counters.AfterAsOf} after as-of, {counters.Task.SegmentChanges} changes, " +
                $"{counters.Task.CategoryInterestChanges} category changes, {counters.Task.TimersFired} timers fired, {counters.SnapshotRows} snapshot rows ({snapshotTime.TotalSeconds:F2} s), " +
                (counters.Task.EventIdsForgottenEarly > 0 ? $"{counters.Task.EventIdsForgottenEarly} event ids forgotten early (Policy:MaxRememberedEventIds), " : "") +
                $"{elapsed.TotalSeconds:F2} s, {processed / Math.Max(elapsed.TotalSeconds, 1e-9):F0} events/s");
            return counters;
        }
        finally
        {
            if (!persistent)
            {
                FasterBuyerStateStore.DeleteDirectory(stateDirectory);
            }
        }
    }

    private static async Task<ReplayCheckpoint?> RecoverAsync(
        FasterBuyerStateStore store, ReplayOptions options, SegmentPolicy policy, CancellationToken cancellationToken)
    {
        var cookie = await store.RecoverAsync(cancellationToken);
        if (cookie is null)
        {
            return null;
        }

        var checkpoint = ReplayCheckpoint.Deserialize(cookie);
        var input = Path.GetFullPath(options.Input);
        if (checkpoint.Input != input || checkpoint.AsOf != options.AsOf || checkpoint.Policy != PolicyText(policy))
        {
            throw new SetupException(
                $"The state directory holds a replay of '{checkpoint.Input}' as of {checkpoint.AsOf} with another policy or input; " +
                "use a fresh --state-dir for a different replay.");
        }

        var length = new FileInfo(input).Length;
        if (length < checkpoint.InputOffset)
        {
            throw new SetupException($"'{input}' is shorter than the checkpoint's position {checkpoint.InputOffset}; it was changed since.");
        }

        if (checkpoint.Outputs is { } outputs && !outputs.SequenceEqual(OutputsOf(options), StringComparer.Ordinal))
        {
            throw new SetupException(
                $"The replay in this state directory wrote --changes, --category-changes and --rejects to {string.Join(", ", outputs.Select(o => o is null ? "(none)" : $"'{o}'"))}; " +
                "resume it with the same outputs, or use a fresh --state-dir.");
        }

        if (checkpoint.Completed && length > checkpoint.InputOffset)
        {
            throw new SetupException(
                $"The replay in this state directory finished at byte {checkpoint.InputOffset} of '{input}', which has grown since: " +
                "its new lines would be applied after the clock reached as-of. Use a fresh --state-dir.");
        }

        return checkpoint;
    }

    private static async Task CheckpointAsync(
        FasterBuyerStateStore store, ReplayOptions options, SegmentPolicy policy, LineReader reader, SegmentTask task,
        ReplayCounters counters, JsonLinesWriter changes, JsonLinesWriter categoryChanges, JsonLinesWriter? rejects, bool completed,
        CancellationToken cancellationToken)
    {
        // Outputs reach the disk before the state that refers to them, so a checkpoint never names bytes that
        // a crash could lose.
        changes.Flush(durable: true);
        categoryChanges.Flush(durable: true);
        rejects?.Flush(durable: true);
        var snapshot = counters with { };
        var checkpoint = new ReplayCheckpoint
        {
            Input = Path.GetFullPath(options.Input),
            AsOf = options.AsOf,
            Policy = PolicyText(policy),
            InputOffset = reader.NextOffset,
            InputHash = HashText(reader.ConsumedHash),
            Completed = completed,
            Line = reader.LineNumber,
            Clock = task.Clock.Now,
            Outputs = OutputsOf(options),
            ChangesLength = changes.Length,
            CategoryChangesLength = categoryChanges.Length,
            RejectsLength = rejects?.Length ?? 0,
            Counters = snapshot,
        };
        await store.CheckpointAsync(checkpoint.Serialize(), cancellationToken);
    }

    private static string?[] OutputsOf(ReplayOptions options) =>
        [Path.GetFullPath(options.Changes), Path.GetFullPath(options.CategoryChanges), string.IsNullOrEmpty(options.Rejects) ? null : Path.GetFullPath(options.Rejects)];

    private static long WriteSnapshot(FasterBuyerStateStore store, SegmentTask task, SegmentPolicy policy, JsonLinesWriter output, long asOf)
    {
        var rows = new SnapshotFileSink(output);
        var builder = new SnapshotBuilder(policy, task.Sellers, task.Catalog);
        store.ForEachBuyer(new BuyerState(), buyer => builder.Emit(buyer, asOf, rows));
        return output.Lines;
    }

    private static void Reject(JsonLinesWriter? rejects, ReplayCounters counters, long line, EventRejection rejection)
    {
        counters.Rejected++;
        if (rejects is null)
        {
            return;
        }

        var json = rejects.BeginLine();
        json.WriteStartObject();
        json.WriteNumber("line"u8, line);
        json.WriteString("reason"u8, rejection.Code);
        json.WriteString("message"u8, rejection.Message);
        json.WriteEndObject();
        rejects.EndLine();
    }

    // RFC 3339, like every instant the replay writes; "none" before the first event (a file of invalid lines so far).
    private static string ClockText(long clock) => clock == EventTime.None ? "none" : EventTime.Format(clock);

    private static string HashText(ulong hash) => hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    private static string PolicyText(SegmentPolicy policy) => JsonSerializer.Serialize(policy, ReplayJsonContext.Default.SegmentPolicy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed replay at line {Line}, clock {Clock}, {Timers} timers restored")]
    private partial void LogResumed(long line, string clock, int timers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Lines} lines, clock {Clock}, {Rate} lines/s")]
    private partial void LogProgress(long lines, string clock, long rate);

    private enum LineOutcome : byte
    {
        Apply,
        Rejected,
        AfterAsOf,
    }

    /// <summary>
    /// Up to <see cref="Capacity"/> lines read and parsed ahead of applying them, so their buyers can be
    /// prefetched together. Reused; a checkpoint is only ever taken between batches, when every line read has
    /// been applied.
    /// </summary>
    private sealed class LineBatch
    {
        public const int Capacity = 256;

        private readonly BuyerEvent[] toApply = new BuyerEvent[Capacity];
        private int toApplyCount;

        public BuyerEvent[] Events { get; } = Enumerable.Range(0, Capacity).Select(_ => new BuyerEvent()).ToArray();

        public LineOutcome[] Outcomes { get; } = new LineOutcome[Capacity];

        public long[] LineNumbers { get; } = new long[Capacity];

        public EventRejection[] Rejections { get; } = new EventRejection[Capacity];

        public int Count { get; private set; }

        public ReadOnlySpan<BuyerEvent> ToApply => toApply.AsSpan(0, toApplyCount);

        public bool Fill(LineReader reader, EventParser parser, long asOf, ReplayCounters counters)
        {
            Count = 0;
            toApplyCount = 0;
            while (Count < Capacity && reader.TryReadLine(out var line, out var oversized))
            {
                counters.Lines++;
                var i = Count++;
                LineNumbers[i] = reader.LineNumber;
                if (oversized)
                {
                    (Outcomes[i], Rejections[i]) = (LineOutcome.Rejected, EventParser.TooLarge);
                }
                else if (!parser.TryParse(line, Events[i], out var rejection))
                {
                    (Outcomes[i], Rejections[i]) = (LineOutcome.Rejected, rejection);
                }
                else if (Events[i].OccurredAt > asOf)
                {
                    Outcomes[i] = LineOutcome.AfterAsOf;
                }
                else
                {
                    Outcomes[i] = LineOutcome.Apply;
                    toApply[toApplyCount++] = Events[i];
                }
            }

            return Count > 0;
        }
    }

    private sealed class SnapshotFileSink(JsonLinesWriter output) : ISnapshotSink
    {
        public void Row(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> buyerId, Segment segment, RfmScore rfm)
        {
            ChangeMessages.WriteSnapshotRow(output.BeginLine(), sellerId, buyerId, segment, rfm);
            output.EndLine();
        }
    }
}
