using System.Buffers;
using StreamSegments.Core.State;
using StreamSegments.Storage;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Collects a task's state writes between two commits, keeping only the newest payload of each key (a buyer
/// touched by ten events and two timers in one commit interval is published once), for the transaction to
/// publish to the changelog.
/// </summary>
internal sealed class ChangelogBuffer : IStateRecordObserver, IDisposable
{
    private readonly Dictionary<byte[], Entry> dirty = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> dirtyByKey;

    public ChangelogBuffer() => dirtyByKey = dirty.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => dirty.Count;

    public void Written(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload)
    {
        ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(dirtyByKey, key, out _);
        if (entry.Buffer is null || entry.Buffer.Length < payload.Length)
        {
            if (entry.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(entry.Buffer);
            }

            entry.Buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 64));
        }

        payload.CopyTo(entry.Buffer);
        entry.Length = payload.Length;
    }

    public void Deleted(ReadOnlySpan<byte> key)
    {
        ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(dirtyByKey, key, out _);
        entry.Length = -1;
    }

    /// <summary>Hands every buffered record to <paramref name="publish"/> (payload null for a deletion) and forgets them.</summary>
    public void Drain(Action<byte[], byte[]?> publish)
    {
        foreach (var (key, entry) in dirty)
        {
            publish(key, entry.Length < 0 ? null : entry.Buffer.AsSpan(0, entry.Length).ToArray());
        }

        Clear();
    }

    public void Clear()
    {
        foreach (var entry in dirty.Values)
        {
            if (entry.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(entry.Buffer);
            }
        }

        dirty.Clear();
    }

    public void Dispose() => Clear();

    private struct Entry
    {
        public byte[]? Buffer;
        public int Length;
    }
}
