using Confluent.Kafka;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Brings a task's FASTER store up to its changelog: from the checkpoint's position (or the beginning) to the
/// end, applying each commit's records when its marker is read. Records after the last marker belong to a
/// commit that never completed and are dropped.
/// </summary>
internal static class ChangelogRestore
{
    public sealed record Result(CommitMarker? Marker, long NextChangelogOffset, long RecordsApplied, long RecordsDropped);

    /// <summary>Where the changelog partition starts and ends (one request to the broker).</summary>
    public static WatermarkOffsets Bounds(IConsumer<byte[]?, byte[]?> reader, TopicPartition partition) =>
        reader.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(30));

    public static Result Run(
        IConsumer<byte[]?, byte[]?> reader, TopicPartition partition, WatermarkOffsets bounds, long from, CommitMarker? marker,
        FasterBuyerStateStore store, CancellationToken cancellationToken)
    {
        // A changelog that no longer starts where the restore must begin has lost records (retention or
        // DeleteRecords on a real broker; the embedded broker keeps only the newest 5 MiB of each partition).
        // Restoring the rest would silently drop buyers' state, so the task refuses to start instead.
        if (bounds.Low.Value > from)
        {
            throw new InvalidOperationException(
                $"Changelog {partition} starts at offset {bounds.Low.Value}, but restoring task {partition.Partition.Value} needs it from offset {from}: " +
                "its records were deleted, so the task's state cannot be rebuilt. Keep the changelog compacted without time or size retention.");
        }

        if (from >= bounds.High.Value)
        {
            // Nothing after the checkpoint (or an empty changelog): no fetch, which would only wait for an empty answer.
            return new Result(marker, from, 0, 0);
        }

        var pending = new List<(byte[] Key, byte[]? Value, string? Commit)>();
        long applied = 0;
        long dropped = 0;
        var next = from;
        reader.Assign(new TopicPartitionOffset(partition, from == 0 ? Offset.Beginning : new Offset(from)));
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = reader.Consume(TimeSpan.FromMilliseconds(500));
                if (record is null)
                {
                    continue;
                }

                if (record.IsPartitionEOF)
                {
                    break;
                }

                var key = record.Message.Key ?? [];
                var commit = CommitOf(record);
                if (CommitMarker.IsMarkerKey(key))
                {
                    // Only the records of the commit this marker closes: others before it belong to a commit that
                    // never completed (an instance killed part way, whose records a broker without transaction
                    // isolation still shows).
                    foreach (var (k, v, c) in pending)
                    {
                        if (c == commit)
                        {
                            store.ApplyRecord(k, v, delete: v is null);
                            applied++;
                        }
                        else
                        {
                            dropped++;
                        }
                    }

                    pending.Clear();
                    marker = CommitMarker.Deserialize(record.Message.Value);
                    next = record.Offset.Value + 1;
                }
                else
                {
                    pending.Add((key, record.Message.Value, commit));
                }

                // The end known before the restore began: stop there rather than wait for the EOF, which takes one
                // more fetch (a whole fetch.wait.max.ms on the embedded broker). When transaction control records
                // end the partition, no record reaches it and the EOF ends the loop instead.
                if (record.Offset.Value + 1 >= bounds.High.Value)
                {
                    break;
                }
            }
        }
        finally
        {
            reader.Unassign();
        }

        return new Result(marker, next, applied, dropped + pending.Count);
    }

    private static string? CommitOf(ConsumeResult<byte[]?, byte[]?> record) =>
        record.Message.Headers is { } headers && headers.TryGetLastBytes(CommitMarker.Header, out var value)
            ? System.Text.Encoding.ASCII.GetString(value)
            : null;
}
