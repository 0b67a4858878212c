using StreamSegments.Core.Processing;
using StreamSegments.Core.State;

namespace StreamSegments.Kafka.Telemetry;

/// <summary>
/// The task's FASTER store as the engine sees it, counting buyers on the way: the engine loads a buyer before it
/// saves or deletes it, so a save after a missed load is a new buyer and a delete after a found one a removal.
/// </summary>
internal sealed class BuyerCountingStore(IBuyerStateStore store, TaskReadings readings) : IBuyerStateStore
{
    private bool loadedExisting;

    public bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state) => loadedExisting = store.TryLoad(buyerId, state);

    public void Save(BuyerState state)
    {
        store.Save(state);
        if (!loadedExisting)
        {
            readings.BuyerAdded();
            loadedExisting = true;
        }
    }

    public void Delete(ReadOnlySpan<byte> buyerId)
    {
        store.Delete(buyerId);
        if (loadedExisting)
        {
            readings.BuyerRemoved();
            loadedExisting = false;
        }
    }

    public void SaveCatalogEntry(int seller, int category) => store.SaveCatalogEntry(seller, category);
}
