using System.Text;
using BenchmarkDotNet.Attributes;
using StreamSegments.Core.Events;
using StreamSegments.Core.State;

namespace StreamSegments.Benchmarks;

/// <summary>EventParser on the two shapes that dominate traffic: an order with one item, and a product view.</summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private readonly byte[] order = Encoding.UTF8.GetBytes("""{"type":"order-paid","eventId":"e-101-00000770","occurredAt":"2025-08-21T13:19:39.133Z","buyerId":"b-000155","sellerId":"s-0001","orderId":"o-101-00000770","amount":19236.42,"currency":"RUB","items":[{"productId":"p-0001-005","categoryId":"c-003","quantity":2,"price":9618.21}]}""");
    private readonly byte[] view = Encoding.UTF8.GetBytes("""{"type":"product-viewed","eventId":"e-101-00000771","occurredAt":"2025-08-21T13:19:40.001Z","buyerId":"b-000155","sellerId":"s-0001","productId":"p-0001-005","categoryId":"c-003"}""");
    private readonly EventParser parser = new(new SymbolTable(), new SymbolTable());
    private readonly BuyerEvent parsed = new();

    [Benchmark]
    public bool ParseOrder() => parser.TryParse(order, parsed, out _);

    [Benchmark]
    public bool ParseView() => parser.TryParse(view, parsed, out _);
}
