using System.Text;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;

namespace StreamSegments.Core.Tests.Support;

/// <summary>
/// Test double for the core's state port: keeps each buyer as the bytes the production codec writes, so every
/// load in a core test is a real decode (the FASTER store itself is tested in StreamSegments.Storage.Tests).
/// </summary>
public sealed class EncodedStateStore(SymbolTable sellers, SymbolTable categories) : IBuyerStateStore
{
    private readonly BuyerStateCodec codec = new(sellers, categories);
    private readonly Dictionary<string, byte[]> records = [];

    public HashSet<(string Seller, string Category)> Catalog { get; } = [];

    public int Count => records.Count;

    public IEnumerable<string> BuyerIds => records.Keys;

    /// <summary>Every record as stored, to compare before and after something that must not write.</summary>
    public List<(string BuyerId, string Bytes)> Snapshot() =>
        [.. records.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => (r.Key, Convert.ToBase64String(r.Value)))];

    public bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state)
    {
        if (!records.TryGetValue(Encoding.UTF8.GetString(buyerId), out var data))
        {
            return false;
        }

        codec.Decode(buyerId, data, state);
        return true;
    }

    public void Save(BuyerState state) => records[Encoding.UTF8.GetString(state.BuyerId)] = codec.Encode(state).ToArray();

    public void Delete(ReadOnlySpan<byte> buyerId) => records.Remove(Encoding.UTF8.GetString(buyerId));

    public void SaveCatalogEntry(int seller, int category) => Catalog.Add((sellers.TextOf(seller), categories.TextOf(category)));

    public BuyerState Load(string buyerId)
    {
        var state = new BuyerState();
        Assert.True(TryLoad(Encoding.UTF8.GetBytes(buyerId), state), $"buyer {buyerId} is not stored");
        return state;
    }
}
