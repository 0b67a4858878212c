using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamSegments.Core;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Brings a task's FASTER store up to its changelog: from the checkpoint's position (or the beginning) to the end.
/// A record is applied when a marker of its incarnation seals its commit (same epoch, a sequence at least its
/// own); the others belong to commits that never completed and are dropped.
/// </summary>
/// <remarks>
/// Two passes over the range: the first finds how far each incarnation sealed its commits, the second applies
/// what they sealed, in log order. One pass would have to hold back every record until its seal is read, and on a
/// compacted changelog a buyer's surviving record can lie far before the only surviving marker of its
/// incarnation (compaction keeps the newest record per key, so of the markers only each incarnation's newest),
/// which could mean holding most of the state in memory. Within an incarnation commits complete in sequence (a
/// failed commit ends the incarnation), so a marker of sequence n seals every commit up to n.
/// </remarks>
internal static class ChangelogRestore
{
    /// <summary>A restore that receives nothing for this long while records remain is stuck (broker gone): it fails.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromMinutes(2);

    public sealed record Result(CommitMarker? Marker, long NextChangelogOffset, long RecordsApplied, long RecordsDropped);

    /// <summary>
    /// Where the changelog partition starts and ends for a restore: its read_committed end, once that has caught up
    /// with everything written to it. Kafka answers a commit before it writes the transaction's markers, and a killed
    /// instance's open transaction holds the read_committed end back until the coordinator aborts it (the
    /// transaction timeout); a restore that ended there would miss the commits after it and process their input
    /// again, publishing its changes twice. Past <paramref name="patience"/> the restore fails, and a restart tries
    /// again.
    /// </summary>
    public static WatermarkOffsets StableBounds(
        IConsumer<byte[]?, byte[]?> reader, IAdminClient admin, TopicPartition partition, TimeSpan patience, Action? progress,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            // Written first: a committed end at least that far covers everything written before the question.
            var written = admin.ListOffsetsAsync(
                    [new TopicPartitionOffsetSpec { TopicPartition = partition, OffsetSpec = OffsetSpec.Latest() }],
                    new ListOffsetsOptions { IsolationLevel = IsolationLevel.ReadUncommitted, RequestTimeout = TimeSpan.FromSeconds(30) })
                .GetAwaiter().GetResult().ResultInfos[0].TopicPartitionOffsetError.Offset.Value;
            var bounds = reader.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(30));
            if (bounds.High.Value >= written)
            {
                return bounds;
            }

            if (Stopwatch.GetElapsedTime(started) > patience)
            {
                throw new InvalidOperationException(
                    $"Changelog {partition} has records of a transaction still open after {patience}: its committed records end at offset " +
                    $"{bounds.High.Value}, its written ones at {written}. Restoring now would miss committed state; a restart tries again.");
            }

            progress?.Invoke();
            cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Restores <paramref name="store"/> from <paramref name="from"/> (a checkpoint's position, or 0) to the end in
    /// <paramref name="bounds"/>, calling <paramref name="progress"/> as records arrive (a long restore is progress).
    /// </summary>
    public static Result Run(
        IConsumer<byte[]?, byte[]?> reader, TopicPartition partition, WatermarkOffsets bounds, long from, CommitMarker? marker,
        FasterBuyerStateStore store, Action? progress, CancellationToken cancellationToken)
    {
        // A changelog that no longer starts where the restore must begin has lost records (retention or
        // DeleteRecords on a real broker; the embedded broker keeps only the newest 5 MiB of each partition).
        // Restoring the rest would silently drop buyers' state, so the task refuses to start instead: a setup error,
        // since every restart would find the same (exit code 2, not 1 and a restart loop).
        if (bounds.Low.Value > from)
        {
            throw new SetupException(
                $"Changelog {partition} starts at offset {bounds.Low.Value}, but restoring task {partition.Partition.Value} needs it from offset {from}: " +
                "its records were deleted, so the task's state cannot be rebuilt. Keep the changelog compacted without time or size retention.");
        }

        // Pass 1: the newest marker, and the sequence each incarnation sealed its commits through.
        var sealedThrough = new Dictionary<long, long>();
        var next = from;
        long unsealedAfterLastMarker = 0;
        Read(reader, partition, from, bounds.High.Value, progress, record =>
        {
            if (CommitMarker.IsMarkerKey(record.Message.Key))
            {
                marker = CommitMarker.Read(record.Message.Value, record.Message.Headers);
                sealedThrough[marker.Epoch] = Math.Max(sealedThrough.GetValueOrDefault(marker.Epoch), marker.Sequence);
                next = record.Offset.Value + 1;
                unsealedAfterLastMarker = 0;
            }
            else
            {
                unsealedAfterLastMarker++;
            }
        }, cancellationToken);

        // Pass 2, up to the newest marker (a record after it cannot be sealed: markers follow their commit's records).
        long applied = 0;
        long dropped = 0;
        Read(reader, partition, from, next, progress, record =>
        {
            var key = record.Message.Key ?? [];
            if (CommitMarker.IsMarkerKey(key))
            {
                return;
            }

            if (record.Message.Headers is { } headers && headers.TryGetLastBytes(CommitMarker.Header, out var commit)
                && CommitMarker.TryParseCommitId(commit, out var epoch, out var sequence)
                && sealedThrough.TryGetValue(epoch, out var through) && sequence <= through)
            {
                var value = record.Message.Value;
                store.ApplyRecord(key, value, delete: value is null);
                applied++;
            }
            else
            {
                dropped++;
            }
        }, cancellationToken);

        return new Result(marker, next, applied, dropped + unsealedAfterLastMarker);
    }

    /// <summary>Hands over the records of <c>[from, end)</c> in order; nothing is fetched when the range is empty.</summary>
    private static void Read(
        IConsumer<byte[]?, byte[]?> reader, TopicPartition partition, long from, long end, Action? progress,
        Action<ConsumeResult<byte[]?, byte[]?>> visit, CancellationToken cancellationToken)
    {
        if (from >= end)
        {
            return;
        }

        reader.Assign(new TopicPartitionOffset(partition, from == 0 ? Offset.Beginning : new Offset(from)));
        try
        {
            var lastRecordAt = Environment.TickCount64;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = reader.Consume(TimeSpan.FromMilliseconds(500));
                if (record is null)
                {
                    if (Environment.TickCount64 - lastRecordAt > StallTimeout.TotalMilliseconds)
                    {
                        throw new TimeoutException($"Restoring from changelog {partition}: nothing received for {StallTimeout} before offset {end}.");
                    }

                    continue;
                }

                lastRecordAt = Environment.TickCount64;
                progress?.Invoke();

                // When transaction control records end the range, no record reaches its end and the EOF ends the loop.
                if (record.IsPartitionEOF)
                {
                    break;
                }

                visit(record);

                // The end is known before reading, so the loop stops there rather than wait for the EOF, which takes
                // one more fetch (a whole fetch.wait.max.ms on the embedded broker).
                if (record.Offset.Value + 1 >= end)
                {
                    break;
                }
            }
        }
        finally
        {
            reader.Unassign();
        }
    }
}
