using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace StreamSegments.Core.State;

/// <summary>
/// Interns UTF-8 ids (sellers, categories) to small integers so that the hot path compares ints and never
/// allocates a string. Ids are low-cardinality; the table only grows. Persisted state stores the UTF-8 names,
/// never the numbers, so numbering is private to a process.
/// </summary>
public sealed class SymbolTable
{
    private int[] buckets = new int[256];
    private Entry[] entries = new Entry[128];
    private int count;

    public int Count => count;

    public int Intern(ReadOnlySpan<byte> name)
    {
        var hash = (int)XxHash3.HashToUInt64(name);
        for (var i = buckets[hash & (buckets.Length - 1)] - 1; i >= 0; i = entries[i].Next)
        {
            ref var entry = ref entries[i];
            if (entry.Hash == hash && entry.Name.AsSpan().SequenceEqual(name))
            {
                return i;
            }
        }

        if (count == entries.Length)
        {
            Array.Resize(ref entries, count * 2);
        }

        if (count * 2 >= buckets.Length)
        {
            Rehash(buckets.Length * 2);
        }

        var id = count++;
        ref var bucket = ref buckets[hash & (buckets.Length - 1)];
        entries[id] = new Entry(name.ToArray(), hash, bucket - 1);
        bucket = id + 1;
        return id;
    }

    public ReadOnlySpan<byte> NameOf(int id) => entries[id].Name;

    public string TextOf(int id) => System.Text.Encoding.UTF8.GetString(entries[id].Name);

    private void Rehash(int size)
    {
        buckets = new int[size];
        for (var i = 0; i < count; i++)
        {
            ref var bucket = ref buckets[entries[i].Hash & (size - 1)];
            entries[i].Next = bucket - 1;
            bucket = i + 1;
        }
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Entry(byte[] name, int hash, int next)
    {
        public readonly byte[] Name = name;
        public readonly int Hash = hash;
        public int Next = next;
    }
}
