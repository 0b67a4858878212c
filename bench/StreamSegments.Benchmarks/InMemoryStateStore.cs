using StreamSegments.Core.Processing;
using StreamSegments.Core.State;

namespace StreamSegments.Benchmarks;

/// <summary>
/// Benchmark-only state port: buyers kept as the bytes the production codec writes, in a dictionary, so that
/// the core's measured cost includes encoding and decoding every buyer, as with FASTER, but no storage engine.
/// Never used outside this project: production state lives in FASTER (StreamSegments.Storage).
/// </summary>
internal sealed class InMemoryStateStore(SymbolTable sellers, SymbolTable categories) : IBuyerStateStore
{
    private readonly BuyerStateCodec codec = new(sellers, categories);
    private readonly Dictionary<byte[], byte[]> records = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> lookup;

    public InMemoryStateStore(SymbolTable sellers, SymbolTable categories, int capacity)
        : this(sellers, categories)
    {
        records.EnsureCapacity(capacity);
        lookup = records.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state)
    {
        if (!lookup.TryGetValue(buyerId, out var data))
        {
            return false;
        }

        codec.Decode(buyerId, data, state);
        return true;
    }

    public void Save(BuyerState state)
    {
        var encoded = codec.Encode(state);
        if (lookup.TryGetValue(state.BuyerId, out var existing) && existing.Length == encoded.Length)
        {
            encoded.CopyTo(existing);
            return;
        }

        lookup[state.BuyerId] = encoded.ToArray();
    }

    public void Delete(ReadOnlySpan<byte> buyerId) => lookup.Remove(buyerId);

    public void SaveCatalogEntry(int seller, int category)
    {
    }
}
