using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using StreamSegments.Core.Events;
using StreamSegments.Core.State;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Demo;

namespace StreamSegments.Worker.Tests.Demo;

/// <summary>The demo's traffic, as the worker receives it from the broker.</summary>
public sealed class DemoTrafficTests : IDisposable
{
    private readonly KafkaScenario scenario = new(partitions: 3);

    [Fact]
    public void The_history_is_valid_events_on_their_topics_keyed_by_buyer_with_the_configured_retries_and_broken_copies()
    {
        var options = new DemoOptions { HistoryEvents = 3_000, HistoryDays = 30, EventsPerSecond = 0, DuplicateRate = 0.05, InvalidRate = 0.02, Seed = 3 };
        var started = DateTimeOffset.UtcNow;
        var traffic = new DemoTraffic(options, scenario.Topics, scenario.Broker.BootstrapServers, TimeProvider.System, NullLogger<DemoTraffic>.Instance);
        traffic.ProduceHistory(CancellationToken.None);

        var records = scenario.Topics.Inputs.SelectMany(scenario.ReadCommitted).ToList();
        Assert.Equal(traffic.Produced, records.Count);

        var parser = new EventParser(new SymbolTable(), new SymbolTable());
        var scratch = new BuyerEvent();
        var valid = new HashSet<string>(StringComparer.Ordinal);
        long retries = 0;
        var broken = new List<byte[]>();
        foreach (var record in records)
        {
            var value = record.Message.Value!;
            if (!parser.TryParse(value, scratch, out var rejection))
            {
                Assert.Equal("malformed-json", rejection.Code);
                broken.Add(value);
                continue;
            }

            Assert.Equal(scenario.Topics.InputTopicOf(scratch.Kind.ToWireName()), record.Topic);
            Assert.Equal(scratch.BuyerId.ToArray(), record.Message.Key);
            Assert.InRange(scratch.OccurredAt, started.AddDays(-options.HistoryDays).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (!valid.Add(Encoding.UTF8.GetString(value)))
            {
                retries++;
            }
        }

        Assert.Equal(options.HistoryEvents, valid.Count);
        Assert.InRange(retries, options.HistoryEvents * options.DuplicateRate / 2, options.HistoryEvents * options.DuplicateRate * 2);
        Assert.InRange(broken.Count, options.HistoryEvents * options.InvalidRate / 2, options.HistoryEvents * options.InvalidRate * 2);
        Assert.All(broken, b => Assert.Contains(valid, v => v.StartsWith(Encoding.UTF8.GetString(b), StringComparison.Ordinal)));
    }

    [Fact]
    public void The_workers_client_settings_reach_the_demo_producer()
    {
        var traffic = new DemoTraffic(new DemoOptions { HistoryEvents = 10 }, scenario.Topics, scenario.Broker.BootstrapServers, TimeProvider.System, NullLogger<DemoTraffic>.Instance)
        {
            ClientSettings = new Dictionary<string, string>(StringComparer.Ordinal) { ["no.such.setting"] = "1" },
        };

        var error = Assert.Throws<InvalidOperationException>(() => traffic.ProduceHistory(CancellationToken.None));
        Assert.Contains("no.such.setting", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_demo_producer_never_takes_the_workers_transactional_id_from_its_client_settings()
    {
        var traffic = new DemoTraffic(new DemoOptions { HistoryEvents = 10, EventsPerSecond = 0 }, scenario.Topics, scenario.Broker.BootstrapServers, TimeProvider.System, NullLogger<DemoTraffic>.Instance)
        {
            ClientSettings = new Dictionary<string, string>(StringComparer.Ordinal) { ["transactional.id"] = "streamsegments-worker" },
        };

        traffic.ProduceHistory(CancellationToken.None); // a transactional producer would refuse to produce outside a transaction

        Assert.Equal(traffic.Produced, scenario.Topics.Inputs.SelectMany(scenario.ReadCommitted).Count());
    }

    public void Dispose() => scenario.Dispose();
}
