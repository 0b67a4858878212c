using System.Text;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Storage.Tests;

public sealed class FasterBuyerStateStoreTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"ss-store-{Guid.NewGuid():N}");
    private readonly SymbolTable sellers = new();
    private readonly SymbolTable categories = new();

    public void Dispose() => FasterBuyerStateStore.DeleteDirectory(directory);

    [Fact]
    public void A_saved_buyer_loads_back_with_every_field()
    {
        using var store = Open();
        store.Save(Buyer("b-1", orders: 3, seed: 7));

        var loaded = new BuyerState();
        Assert.True(store.TryLoad("b-1"u8, loaded));
        AssertSame(Buyer("b-1", orders: 3, seed: 7), loaded);
        Assert.False(store.TryLoad("b-2"u8, new BuyerState()));
    }

    [Fact]
    public void A_deleted_buyer_is_gone_and_absent_from_scans()
    {
        using var store = Open();
        store.Save(Buyer("b-1", orders: 1, seed: 1));
        store.Save(Buyer("b-2", orders: 1, seed: 2));

        store.Delete("b-1"u8);

        Assert.False(store.TryLoad("b-1"u8, new BuyerState()));
        Assert.Equal(["b-2"], BuyerIds(store));
    }

    [Fact]
    public void State_larger_than_the_memory_budget_spills_to_disk_and_reads_back()
    {
        // 4 MiB budget: 1 MiB index, 2 MiB log in memory; 20k buyers of ~600 bytes are ~12 MiB of log.
        using var store = Open(new StateStoreOptions { MemoryBudgetBytes = 4L << 20 });
        SaveManyBuyers(store);

        Assert.True(store.LogBytes > store.MemoryBudgetBytes, $"log {store.LogBytes} should exceed the budget {store.MemoryBudgetBytes}");
        Assert.True(store.InMemoryLogBytes <= 2L << 20, $"in-memory log {store.InMemoryLogBytes} should stay within 2 MiB");
        AssertManyBuyersLoad(store);
    }

    [Fact]
    public async Task A_checkpoint_recovers_state_catalog_and_cookie_after_reopening()
    {
        var cookie = "position=42"u8.ToArray();
        using (var store = Open())
        {
            store.Save(Buyer("b-1", orders: 2, seed: 3));
            store.SaveCatalogEntry(sellers.Intern("s-1"u8), categories.Intern("c-9"u8));
            await store.CheckpointAsync(cookie, CancellationToken.None);
            store.Save(Buyer("b-after-checkpoint", orders: 1, seed: 4));
        }

        var freshSellers = new SymbolTable();
        var freshCategories = new SymbolTable();
        using var reopened = new FasterBuyerStateStore(directory, new StateStoreOptions(), freshSellers, freshCategories);
        var recovered = await reopened.RecoverAsync(CancellationToken.None);

        Assert.Equal(cookie, recovered);
        var task = new SegmentTask(new SegmentPolicy(), reopened, new NullSink(), freshSellers, freshCategories, clock: 10 * EventTime.Day);
        reopened.RestoreInto(task);
        Assert.Equal(["s-1"], task.Catalog.SellersOf(freshCategories.Intern("c-9"u8)).Select(freshSellers.TextOf));
        Assert.Equal(["b-1"], BuyerIds(reopened));
        // b-1's orders are at days 3 and 4: the first leaves the 90-day window at day 93, its earliest boundary.
        Assert.Equal(93 * EventTime.Day, task.Timers.NextDue);
    }

    [Theory]
    [InlineData("index-checkpoints", "cut")]
    [InlineData("index-checkpoints", "flip")]
    [InlineData("cpr-checkpoints", "cut")]
    [InlineData("log", "cut")]
    public async Task A_checkpoint_whose_files_were_damaged_is_refused_not_recovered_with_buyers_missing(string where, string damage)
    {
        // The storage's damage, not FASTER's: a cut index file once recovered silently and answered wrongly for the
        // buyers its lost buckets held.
        var options = new StateStoreOptions { MemoryBudgetBytes = 4L << 20 };
        using (var store = Open(options))
        {
            SaveManyBuyers(store);
            await store.CheckpointAsync([3], CancellationToken.None);
        }

        var file = Directory.EnumerateFiles(Path.Combine(directory, where == "log" ? "log" : Path.Combine("checkpoints", where)), "*", SearchOption.AllDirectories)
            .OrderByDescending(f => new FileInfo(f).Length)
            .First();
        if (damage == "cut")
        {
            using var stream = new FileStream(file, FileMode.Open);
            stream.SetLength(stream.Length / 2);
        }
        else
        {
            var bytes = File.ReadAllBytes(file);
            bytes[bytes.Length / 2] ^= 0x5A;
            File.WriteAllBytes(file, bytes);
        }

        using var reopened = Open(options);
        var refused = await Assert.ThrowsAsync<StreamSegments.Core.SetupException>(() => reopened.RecoverAsync(CancellationToken.None));
        Assert.Contains("is damaged", refused.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(file), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_checkpoint_that_committed_just_before_a_crash_is_recovered_though_its_manifest_was_not_written()
    {
        // The crash between FASTER's commit and the manifest leaves the previous checkpoint's manifest, whose files
        // are being deleted: it says nothing about the checkpoint FASTER recovers.
        var manifest = Path.Combine(directory, "checkpoints", "manifest");
        using (var store = Open())
        {
            store.Save(Buyer("b-1", orders: 2, seed: 3));
            await store.CheckpointAsync([1], CancellationToken.None);
            var previous = File.ReadAllBytes(manifest);
            store.Save(Buyer("b-2", orders: 1, seed: 4));
            await store.CheckpointAsync([2], CancellationToken.None);
            File.WriteAllBytes(manifest, previous);
        }

        using var reopened = Open();
        Assert.Equal([2], await reopened.RecoverAsync(CancellationToken.None));
        Assert.Equal(["b-1", "b-2"], BuyerIds(reopened).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_undamaged_checkpoint_passes_its_check_after_the_log_grew_past_it()
    {
        var options = new StateStoreOptions { MemoryBudgetBytes = 4L << 20 };
        using (var store = Open(options))
        {
            store.Save(Buyer("b-1", orders: 2, seed: 3));
            await store.CheckpointAsync([3], CancellationToken.None);
            SaveManyBuyers(store);
        }

        using var reopened = Open(options);
        Assert.Equal([3], await reopened.RecoverAsync(CancellationToken.None));
        Assert.Equal(["b-1"], BuyerIds(reopened));
    }

    [Fact]
    public async Task A_fresh_directory_recovers_nothing()
    {
        using var store = Open();
        Assert.Null(await store.RecoverAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Compaction_at_checkpoint_reclaims_superseded_versions()
    {
        using var store = Open(new StateStoreOptions { MemoryBudgetBytes = 4L << 20, CompactionLogRatio = 2 });
        for (var round = 0; round < 10; round++)
        {
            for (var i = 0; i < 2_000; i++)
            {
                // Growing values force a new version at the tail each round.
                store.Save(Buyer($"b-{i}", orders: 1 + (round * 10), seed: i));
            }
        }

        var before = store.LogBytes;
        await store.CheckpointAsync([1], CancellationToken.None);

        Assert.True(store.LogBytes < before, $"log {store.LogBytes} should have shrunk from {before}");
        var loaded = new BuyerState();
        Assert.True(store.TryLoad("b-1999"u8, loaded));
        AssertSame(Buyer("b-1999", orders: 91, seed: 1999), loaded);
        Assert.Equal(2_000, BuyerIds(store).Count);
    }

    [Fact]
    public async Task Repeated_compaction_keeps_every_live_buyer_readable_by_scan_and_after_recovery()
    {
        // Records of varying sizes, so a compaction bound chosen without care would land inside a record.
        var options = new StateStoreOptions { MemoryBudgetBytes = 4L << 20, CompactionLogRatio = 1.5 };
        var random = new Random(3);
        var latest = new Dictionary<string, int>();
        using (var store = Open(options))
        {
            for (var round = 0; round < 8; round++)
            {
                for (var i = 0; i < 3_000; i++)
                {
                    var id = $"b-{random.Next(4_000)}";
                    var orders = 1 + random.Next(40);
                    store.Save(Buyer(id, orders, seed: 11));
                    latest[id] = orders;
                }

                await store.CheckpointAsync([(byte)round], CancellationToken.None);
                Assert.Equal(latest.Keys.Order(StringComparer.Ordinal), BuyerIds(store).Order(StringComparer.Ordinal));
            }
        }

        using var reopened = new FasterBuyerStateStore(directory, options, sellers, categories);
        Assert.Equal([7], await reopened.RecoverAsync(CancellationToken.None));
        var loaded = new BuyerState();
        var seen = 0;
        reopened.ForEachBuyer(loaded, buyer =>
        {
            seen++;
            Assert.Equal(latest[Encoding.UTF8.GetString(buyer.BuyerId)], buyer.Pairs[0].OrderCount);
        });
        Assert.Equal(latest.Count, seen);
    }

    [Fact]
    public async Task A_buyer_larger_than_a_page_is_stored_in_parts_and_reads_back_whole_after_recovery()
    {
        // 4 MiB budget: 512 KiB pages (the least), parts of 128 KiB. 40k seen ids are about 520 KB encoded: a head
        // and three parts.
        var options = new StateStoreOptions { MemoryBudgetBytes = 4L << 20 };
        var crawler = WithSeenIds(Buyer("b-crawler", orders: 3, seed: 5), 40_000);
        using (var store = Open(options))
        {
            store.Save(Buyer("b-small", orders: 2, seed: 1));
            store.Save(crawler);
            store.Save(Buyer("b-other", orders: 1, seed: 2));

            Assert.True(store.EntryCount >= 3 + 3, $"expected the crawler in parts, found {store.EntryCount} keys");
            var loaded = new BuyerState();
            Assert.True(store.TryLoad("b-crawler"u8, loaded));
            AssertSame(crawler, loaded);
            await store.CheckpointAsync([9], CancellationToken.None);
        }

        using var reopened = Open(options);
        Assert.Equal([9], await reopened.RecoverAsync(CancellationToken.None));
        Assert.Equal(["b-crawler", "b-other", "b-small"], BuyerIds(reopened).Order(StringComparer.Ordinal));
        var recovered = new BuyerState();
        reopened.ForEachBuyer(new BuyerState(), buyer =>
        {
            if (buyer.BuyerId.SequenceEqual("b-crawler"u8))
            {
                AssertSame(crawler, buyer);
            }
        });
        Assert.True(reopened.TryLoad("b-crawler"u8, recovered));
        AssertSame(crawler, recovered);
    }

    [Fact]
    public void A_parted_buyer_that_shrinks_or_is_deleted_leaves_no_part_behind_in_the_store_or_its_changelog()
    {
        var options = new StateStoreOptions { MemoryBudgetBytes = 4L << 20 };
        using var store = Open(options);
        var changelog = new RecordingObserver();
        store.Observer = changelog;
        store.Save(Buyer("b-small", orders: 2, seed: 1));
        var keysOfSmallBuyer = store.EntryCount;

        var loaded = new BuyerState();
        Assert.False(store.TryLoad("b-crawler"u8, loaded));
        store.Save(WithSeenIds(Buyer("b-crawler", orders: 3, seed: 5), 40_000));
        var partedKeys = store.EntryCount - keysOfSmallBuyer;
        Assert.True(partedKeys > 2, $"the crawler took {partedKeys} keys");
        Assert.All(changelog.Latest.Values, payload => Assert.True(payload is null || payload.Length <= store.MaxPartBytes + 8, $"a changelog record of {payload?.Length} bytes"));

        // Fewer ids: fewer parts, the surplus deleted.
        Assert.True(store.TryLoad("b-crawler"u8, loaded));
        var shrunk = WithSeenIds(Buyer("b-crawler", orders: 3, seed: 5), 12_000);
        store.Save(shrunk);
        Assert.True(store.TryLoad("b-crawler"u8, loaded));
        AssertSame(shrunk, loaded);
        Assert.True(store.EntryCount - keysOfSmallBuyer < partedKeys, $"{store.EntryCount - keysOfSmallBuyer} keys after shrinking from {partedKeys}");

        // The changelog alone rebuilds the same buyer in another store.
        using (var rebuilt = new FasterBuyerStateStore(directory + "-rebuilt", options, sellers, categories))
        {
            try
            {
                foreach (var (key, payload) in changelog.Latest)
                {
                    rebuilt.ApplyRecord(key.Span, payload, delete: payload is null);
                }

                var fromChangelog = new BuyerState();
                Assert.True(rebuilt.TryLoad("b-crawler"u8, fromChangelog));
                AssertSame(shrunk, fromChangelog);
                Assert.Equal(store.EntryCount, rebuilt.EntryCount);
            }
            finally
            {
                FasterBuyerStateStore.DeleteDirectory(rebuilt.Directory);
            }
        }

        store.Delete("b-crawler"u8);
        Assert.False(store.TryLoad("b-crawler"u8, loaded));
        Assert.Equal(keysOfSmallBuyer, store.EntryCount);
        Assert.Equal(["b-small"], changelog.Latest.Where(r => r.Value is not null).Select(r => Encoding.UTF8.GetString(r.Key.Span[1..])));
    }

    [Fact]
    public void A_buyer_with_more_event_ids_than_a_page_holds_is_stored_in_parts_and_still_recognises_a_resent_event()
    {
        // The smallest budget (128 KiB pages): a crawler's event ids alone outgrow a page within a few thousand events.
        // The limit on remembered ids is raised past the test's views: the parts, not the limit, are under test.
        using var store = Open(new StateStoreOptions { MemoryBudgetBytes = 4L << 20 });
        var task = new SegmentTask(new SegmentPolicy { MaxRememberedEventIds = 20_000 }, store, new NullSink(), sellers, categories);
        var seller = sellers.Intern("s-1"u8);
        var category = categories.Intern("c-1"u8);
        const int views = 12_000;
        for (var i = 0; i < views; i++)
        {
            var view = BuyerEvent.Create(EventKind.ProductViewed, EventTime.Day + (i * 60_000L), (ulong)i + 1, "b-crawler"u8, seller, category);
            Assert.Equal(ApplyOutcome.Applied, task.Apply(view));
        }

        var resent = BuyerEvent.Create(EventKind.ProductViewed, EventTime.Day, 1, "b-crawler"u8, seller, category);
        Assert.Equal(ApplyOutcome.DuplicateEvent, task.Apply(resent));
        var loaded = new BuyerState();
        Assert.True(store.TryLoad("b-crawler"u8, loaded));
        Assert.Equal(views, loaded.SeenCount);
        Assert.True(store.EntryCount > 2, "the crawler should be stored in parts");
    }

    [Fact]
    public void Ids_of_the_longest_length_the_parser_accepts_fit_the_smallest_store_with_a_parted_buyer()
    {
        using var store = Open(new StateStoreOptions { MemoryBudgetBytes = 4L << 20 });
        var longest = EventParser.MaxStoredIdBytes;
        var buyerId = new string('b', longest);
        var buyer = WithSeenIds(Buyer(buyerId, orders: 2, seed: 1), 20_000);
        buyer.AddPair(sellers.Intern(Encoding.UTF8.GetBytes(new string('s', longest)))).RecordInteraction(EventTime.Day);
        store.Save(buyer);
        store.SaveCatalogEntry(sellers.Intern(Encoding.UTF8.GetBytes(new string('s', longest))), categories.Intern(Encoding.UTF8.GetBytes(new string('c', longest))));

        var loaded = new BuyerState();
        Assert.True(store.TryLoad(Encoding.UTF8.GetBytes(buyerId), loaded));
        AssertSame(buyer, loaded);
        Assert.Equal([buyerId], BuyerIds(store));
    }

    [Theory]
    [InlineData(16L << 20, 24L << 20)]
    [InlineData(24L << 20, 16L << 20)]
    public async Task A_checkpoint_recovered_under_another_memory_budget_brings_back_every_buyer_or_refuses(long before, long after)
    {
        // 16 and 24 MiB give the same hash index (4 MiB) but 512 KiB and 1 MiB pages: an operator changing
        // State:MemoryBudgetBytes between two runs of a task. ~12 MiB of log, most of it on disk. Every buyer must be
        // in the scan a restore re-queues timers from (and compaction copies live records by), not only loadable.
        using (var store = Open(new StateStoreOptions { MemoryBudgetBytes = before }))
        {
            SaveManyBuyers(store);

            await store.CheckpointAsync([5], CancellationToken.None);
        }

        using var reopened = Open(new StateStoreOptions { MemoryBudgetBytes = after });
        byte[]? cookie;
        try
        {
            cookie = await reopened.RecoverAsync(CancellationToken.None);
        }
        catch (StreamSegments.Core.SetupException)
        {
            return; // refused: the worker restores that task from its changelog instead
        }

        Assert.Equal([5], cookie);
        Assert.Equal(20_000, BuyerIds(reopened).Count);
        AssertManyBuyersLoad(reopened);
    }

    [Fact]
    public async Task Checkpoints_that_do_not_say_their_page_size_are_refused_even_under_the_same_budget()
    {
        // Taken by a build before the page size was written beside them, under a budget nobody knows any more.
        using (var store = Open(new StateStoreOptions { MemoryBudgetBytes = 16L << 20 }))
        {
            store.Save(Buyer("b-1", orders: 2, seed: 1));
            await store.CheckpointAsync([5], CancellationToken.None);
        }

        File.Delete(Path.Combine(directory, "checkpoints", "page-bits"));
        using var reopened = Open(new StateStoreOptions { MemoryBudgetBytes = 16L << 20 });

        var refused = await Assert.ThrowsAsync<StreamSegments.Core.SetupException>(() => reopened.RecoverAsync(CancellationToken.None));
        Assert.Contains("do not say which log page size", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>20,000 buyers of ~600 bytes each: ~12 MiB of log.</summary>
    private void SaveManyBuyers(FasterBuyerStateStore store)
    {
        for (var i = 0; i < 20_000; i++)
        {
            store.Save(Buyer($"b-{i}", orders: 15, seed: i));
        }
    }

    /// <summary>A sample of <see cref="SaveManyBuyers"/>'s buyers, from both ends of the log, read back whole.</summary>
    private void AssertManyBuyersLoad(FasterBuyerStateStore store)
    {
        var loaded = new BuyerState();
        foreach (var i in new[] { 0, 1, 4_999, 12_345, 19_999 })
        {
            Assert.True(store.TryLoad(Encoding.UTF8.GetBytes($"b-{i}"), loaded), $"b-{i} not found");
            AssertSame(Buyer($"b-{i}", orders: 15, seed: i), loaded);
        }
    }

    private static BuyerState WithSeenIds(BuyerState state, int count)
    {
        for (var i = 0; i < count; i++)
        {
            state.AddSeen(new SeenEvent((ulong)(i * 7919) ^ 0x9E37_79B9_7F4A_7C15UL, (EventTime.Day * 90) + i));
        }

        return state;
    }

    private FasterBuyerStateStore Open(StateStoreOptions? options = null) =>
        new(directory, options ?? new StateStoreOptions(), sellers, categories);

    private static List<string> BuyerIds(FasterBuyerStateStore store)
    {
        var ids = new List<string>();
        store.ForEachBuyer(new BuyerState(), b => ids.Add(Encoding.UTF8.GetString(b.BuyerId)));
        return ids;
    }

    private BuyerState Buyer(string id, int orders, int seed)
    {
        var state = new BuyerState();
        state.Reset(Encoding.UTF8.GetBytes(id));
        state.ScheduledTimer = 1_000 + seed;
        var pair = state.AddPair(sellers.Intern(Encoding.UTF8.GetBytes($"s-{seed % 5}")));
        pair.Published = Segment.Returning;
        for (var i = 0; i < orders; i++)
        {
            pair.AddOrder(new OrderEntry(EventTime.Day * (seed + i), 1000.5m + i, (ulong)(seed * 100 + i)));
        }

        pair.RecordInteraction(EventTime.Day * seed);
        state.AddCategory(new CategoryInterest(categories.Intern("c-1"u8), EventTime.Day * seed, Published: true));
        state.AddSeen(new SeenEvent((ulong)seed, EventTime.Day * 90));
        return state;
    }

    private void AssertSame(BuyerState expected, BuyerState actual)
    {
        Assert.Equal(Encoding.UTF8.GetString(expected.BuyerId), Encoding.UTF8.GetString(actual.BuyerId));
        Assert.Equal(expected.ScheduledTimer, actual.ScheduledTimer);
        Assert.Equal(expected.PairCount, actual.PairCount);
        for (var i = 0; i < expected.PairCount; i++)
        {
            var (e, a) = (expected.Pairs[i], actual.Pairs[i]);
            Assert.Equal(sellers.TextOf(e.Seller), sellers.TextOf(a.Seller));
            Assert.Equal((e.Published, e.LastOrderEver, e.LastInteraction), (a.Published, a.LastOrderEver, a.LastInteraction));
            Assert.Equal(e.Orders.ToArray(), a.Orders.ToArray());
        }

        Assert.Equal(expected.Categories.ToArray(), actual.Categories.ToArray());
        Assert.Equal(expected.Seen.ToArray(), actual.Seen.ToArray());
    }

    private sealed class RecordingObserver : IStateRecordObserver
    {
        public Dictionary<ReadOnlyMemory<byte>, byte[]?> Latest { get; } = new(new MemoryComparer());

        public void Written(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload) => Latest[key.ToArray()] = payload.ToArray();

        public void Deleted(ReadOnlySpan<byte> key) => Latest[key.ToArray()] = null;

        private sealed class MemoryComparer : IEqualityComparer<ReadOnlyMemory<byte>>
        {
            public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

            public int GetHashCode(ReadOnlyMemory<byte> obj)
            {
                var hash = default(HashCode);
                hash.AddBytes(obj.Span);
                return hash.ToHashCode();
            }
        }
    }

    private sealed class NullSink : IChangeSink
    {
        public void SegmentChanged(in SegmentChange change)
        {
        }

        public void CategoryInterestChanged(in CategoryInterestChange change)
        {
        }
    }
}
