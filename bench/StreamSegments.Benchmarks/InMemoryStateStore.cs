using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;

namespace StreamSegments.Benchmarks;

/// <summary>
/// Benchmark-only state port: buyers kept as the bytes the production codec writes, in a dictionary, so that
/// the core's measured cost includes encoding and decoding every buyer, as with FASTER, but no storage engine.
/// Like a FASTER record, each buyer's bytes live in a buffer with slack that later writes reuse in place, and
/// <see cref="Clear"/> keeps the buffers: storing allocates nothing in steady state, as FASTER's log does not.
/// Never used outside this project: production state lives in FASTER (StreamSegments.Storage).
/// </summary>
internal sealed class InMemoryStateStore : IBuyerStateStore
{
    private readonly BuyerStateCodec codec;
    private readonly Dictionary<byte[], Record> records = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], Record>.AlternateLookup<ReadOnlySpan<byte>> lookup;

    public InMemoryStateStore(SymbolTable sellers, SymbolTable categories, int capacity)
    {
        codec = new BuyerStateCodec(sellers, categories);
        records.EnsureCapacity(capacity);
        lookup = records.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Forgets every buyer, keeping their buffers for the next run.</summary>
    public void Clear()
    {
        foreach (var key in records.Keys)
        {
            CollectionsMarshal.GetValueRefOrNullRef(records, key).Length = Record.Absent;
        }
    }

    public bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state)
    {
        if (!lookup.TryGetValue(buyerId, out var record) || record.Length == Record.Absent)
        {
            return false;
        }

        codec.Decode(buyerId, record.Buffer.AsSpan(0, record.Length), state);
        return true;
    }

    public void Save(BuyerState state)
    {
        var encoded = codec.Encode(state);
        ref var record = ref CollectionsMarshal.GetValueRefOrAddDefault(lookup, state.BuyerId, out _);
        if (record.Buffer is null || record.Buffer.Length < encoded.Length)
        {
            // The same slack as the FASTER store's records: half again, plus 32 bytes.
            record.Buffer = new byte[encoded.Length + (encoded.Length / 2) + 32];
        }

        encoded.CopyTo(record.Buffer);
        record.Length = encoded.Length;
    }

    public void Delete(ReadOnlySpan<byte> buyerId)
    {
        ref var record = ref CollectionsMarshal.GetValueRefOrNullRef(lookup, buyerId);
        if (!Unsafe.IsNullRef(ref record))
        {
            record.Length = Record.Absent;
        }
    }

    public void SaveCatalogEntry(int seller, int category)
    {
    }

    private struct Record
    {
        public const int Absent = -1;

        public byte[] Buffer;
        public int Length;
    }
}
