using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Worker.Hosting;

namespace StreamSegments.Worker.Broker;

internal static class BrokerVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--host"] = "Broker:Host",
        ["--port"] = "Broker:Port",
        ["--partitions"] = "Broker:Partitions",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<StreamSegments.Worker.Broker.BrokerOptions>(StreamSegments.Worker.Broker.BrokerOptions.SectionName);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<StreamSegments.Worker.Broker.BrokerOptions>>().Value;
        await using var broker = new StreamSegments.Kafka.Broker.EmbeddedBroker();
        foreach (var topic in options.Topics)
        {
            broker.CreateTopic(topic, options.Partitions);
        }

        string address;
        try
        {
            address = broker.ExposeOn(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.Host), options.Port));
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            // A restart would fail alike: not exit code 1.
            throw new SetupException($"Broker:Port {options.Port} on {options.Host} is in use by another process (choose another with --port).");
        }

        await Console.Error.WriteLineAsync(
            $"broker: listening on {address} ({options.Topics.Count} topics x {options.Partitions} partitions, in memory); Ctrl-C stops it");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
