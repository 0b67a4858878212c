using System.Text;
using BenchmarkDotNet.Attributes;
using StreamSegments.Core.Events;
using StreamSegments.Core.Policy;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;
using StreamSegments.Core.Time;

namespace StreamSegments.Benchmarks;

/// <summary>
/// The core's hot path on pre-parsed events: one task applying a million events (orders, views, cart and
/// favorite events over 200k buyers and half a year) and firing every timer they imply. Reported per event.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int EventCount = 1_000_000;
    private BuyerEvent[] events = [];
    private SymbolTable sellers = new();
    private SymbolTable categories = new();
    private InMemoryStateStore store = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        sellers = new SymbolTable();
        categories = new SymbolTable();
        var sellerIds = Enumerable.Range(0, 50).Select(i => sellers.Intern(Encoding.UTF8.GetBytes($"s-{i:D4}"))).ToArray();
        var categoryIds = Enumerable.Range(0, 30).Select(i => categories.Intern(Encoding.UTF8.GetBytes($"c-{i:D3}"))).ToArray();
        var start = EventTime.Parse("2026-01-01T00:00:00Z");
        events = new BuyerEvent[EventCount];
        for (var i = 0; i < EventCount; i++)
        {
            var at = start + (180L * EventTime.Day * i / EventCount);
            var buyer = Encoding.UTF8.GetBytes($"b-{random.Next(200_000):D7}");
            var seller = sellerIds[random.Next(sellerIds.Length)];
            var category = categoryIds[random.Next(categoryIds.Length)];
            var roll = random.NextDouble();
            events[i] = roll < 0.40
                ? BuyerEvent.Create(EventKind.OrderPaid, at, (ulong)i, buyer, seller, orderIdHash: (ulong)i + 1, amount: Math.Round((decimal)(random.NextDouble() * 8000), 2), itemCategories: [category])
                : BuyerEvent.Create(roll < 0.85 ? EventKind.ProductViewed : roll < 0.95 ? EventKind.CartItemAdded : EventKind.FavoriteAdded, at, (ulong)i, buyer, seller, category);
        }

        store = new InMemoryStateStore(sellers, categories, capacity: 200_000);
    }

    [Benchmark(OperationsPerInvoke = EventCount)]
    public long ApplyPreParsedEvents()
    {
        var sink = new CountingSink();
        store.Clear();
        var task = new SegmentTask(new SegmentPolicy(), store, sink, sellers, categories);
        foreach (var e in events)
        {
            task.Apply(e);
        }

        task.AdvanceTo(events[^1].OccurredAt + (400 * EventTime.Day));
        return sink.Count;
    }

    /// <summary>The benchmark's workload without BenchmarkDotNet, timed per round.</summary>
    public static void RunLoop(int rounds)
    {
        var benchmark = new EngineBenchmarks();
        benchmark.Setup();
        for (var round = 0; round < rounds; round++)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var changes = benchmark.ApplyPreParsedEvents();
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            Console.WriteLine($"round {round + 1}: {EventCount:N0} events, {changes:N0} changes, {elapsed.TotalMilliseconds:N0} ms, {EventCount / elapsed.TotalSeconds:N0} events/s");
        }
    }

    private sealed class CountingSink : IChangeSink
    {
        public long Count { get; private set; }

        public void SegmentChanged(in SegmentChange change) => Count++;

        public void CategoryInterestChanged(in CategoryInterestChange change) => Count++;
    }
}
