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

    /// <summary>The end of the changelog partition as a read_committed reader sees it.</summary>
    public static long EndOffset(IConsumer<byte[]?, byte[]?> reader, TopicPartition partition) =>
        reader.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(30)).High.Value;

    public static Result Run(
        IConsumer<byte[]?, byte[]?> reader, TopicPartition partition, long from, CommitMarker? marker,
        FasterBuyerStateStore store, CancellationToken cancellationToken)
    {
        var pending = new List<(byte[] Key, byte[]? Value)>();
        long applied = 0;
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
                if (CommitMarker.IsMarkerKey(key))
                {
                    foreach (var (k, v) in pending)
                    {
                        store.ApplyRecord(k, v, delete: v is null);
                    }

                    applied += pending.Count;
                    pending.Clear();
                    marker = CommitMarker.Deserialize(record.Message.Value);
                    next = record.Offset.Value + 1;
                }
                else
                {
                    pending.Add((key, record.Message.Value));
                }
            }
        }
        finally
        {
            reader.Unassign();
        }

        return new Result(marker, next, applied, pending.Count);
    }
}
