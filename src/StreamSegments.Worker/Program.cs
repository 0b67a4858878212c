using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamSegments.Worker.Hosting;
using StreamSegments.Worker.Replay;

// One executable, several verbs; `run` is the default.
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

try
{
    return verb switch
    {
        "replay" => await ReplayVerb.RunAsync(rest, cancellation.Token),
        "generate" => await GenerateVerb.RunAsync(rest),
        "broker" => await BrokerVerb.RunAsync(rest, cancellation.Token),
        "help" or "--help" or "-h" => Usage(Console.Out, 0),
        "run" => Usage(Console.Error, 2, "the Kafka worker ('run') is not part of this build yet; use 'replay' or 'generate'"),
        _ => Usage(Console.Error, 2, $"unknown verb '{verb}'"),
    };
}
catch (UsageException ex)
{
    return Usage(Console.Error, 2, ex.Message);
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync($"streamsegments {verb}: invalid options: {string.Join("; ", ex.Failures)}");
    return 2;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync($"streamsegments {verb}: cancelled");
    return 130;
}

static int Usage(TextWriter output, int exitCode, string? error = null)
{
    if (error is not null)
    {
        output.WriteLine($"streamsegments: {error}");
    }

    output.WriteLine("""
        usage: StreamSegments.Worker <verb> [options]

        verbs:
          replay    run a JSON-lines file of input events through the engine and write the changes and a snapshot
                    --input FILE --as-of TIME --snapshot FILE --changes FILE --category-changes FILE
                    [--rejects FILE] [--state-dir DIR] [--checkpoint-every N] [--memory-budget BYTES]
          generate  write a synthetic marketplace's events as JSON lines (input for replay and benchmarks)
                    --output FILE|- [--events N] [--buyers N] [--sellers N] [--categories N] [--days N]
                    [--start TIME] [--seed N] [--duplicate-rate X] [--invalid-rate X]
          broker    a Kafka-protocol broker in this process (librdkafka's mock cluster, in memory) with the
                    product's topics, until Ctrl-C
                    [--host 127.0.0.1] [--port 9092] [--partitions 6]
          help      this text

        Any setting can also be given as --Section:Key value (e.g. --Policy:WindowDays 60) or as an
        environment variable Section__Key (e.g. Policy__WindowDays=60).
        """);
    return exitCode;
}

internal static class ReplayVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--input"] = "Replay:Input",
        ["--as-of"] = "Replay:AsOf",
        ["--snapshot"] = "Replay:Snapshot",
        ["--changes"] = "Replay:Changes",
        ["--category-changes"] = "Replay:CategoryChanges",
        ["--rejects"] = "Replay:Rejects",
        ["--state-dir"] = "Replay:StateDirectory",
        ["--checkpoint-every"] = "Replay:CheckpointEvery",
        ["--memory-budget"] = "State:MemoryBudgetBytes",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<ReplayOptions>(ReplayOptions.SectionName);
        builder.Services.AddSingleton<ReplayRunner>();
        using var host = builder.Build();
        await host.Services.GetRequiredService<ReplayRunner>().RunAsync(cancellationToken);
        return 0;
    }
}

internal static class GenerateVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--output"] = "Generate:Output",
        ["--events"] = "Generate:Events",
        ["--buyers"] = "Generate:Buyers",
        ["--sellers"] = "Generate:Sellers",
        ["--categories"] = "Generate:Categories",
        ["--days"] = "Generate:Days",
        ["--start"] = "Generate:Start",
        ["--seed"] = "Generate:Seed",
        ["--duplicate-rate"] = "Generate:DuplicateRate",
        ["--invalid-rate"] = "Generate:InvalidRate",
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<StreamSegments.Worker.Generate.GeneratorOptions>(StreamSegments.Worker.Generate.GeneratorOptions.SectionName);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<StreamSegments.Worker.Generate.GeneratorOptions>>().Value;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await using var output = options.Output == "-" ? Console.OpenStandardOutput() : File.Create(options.Output);
        var last = StreamSegments.Worker.Generate.TrafficGenerator.Write(output, options);
        await Console.Error.WriteLineAsync(
            $"generate: {options.Events} events, {options.Buyers} buyers, {options.Sellers} sellers, last event at " +
            $"{last.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}, {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}

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

        var address = broker.ExposeOn(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.Host), options.Port));
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
