using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Storage;
using StreamSegments.Worker.Demo;
using StreamSegments.Worker.Hosting;
using StreamSegments.Worker.Replay;
using StreamSegments.Worker.Run;
using StreamSegments.Worker.Telemetry;

// One executable, several verbs; `run` is the default.
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
if (rest.Any(arg => arg is "--help" or "-h"))
{
    return Usage(Console.Out, 0);
}

// Ctrl-C and SIGTERM (a supervisor's stop) end every verb the same way: `run` commits and leaves the group, a
// replay stops at a checkpoint, the broker and the demo close.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});

try
{
    return verb switch
    {
        "replay" => await ReplayVerb.RunAsync(rest, cancellation.Token),
        "generate" => await GenerateVerb.RunAsync(rest, cancellation.Token),
        "broker" => await BrokerVerb.RunAsync(rest, cancellation.Token),
        "run" => await RunVerb.RunAsync(rest, cancellation.Token),
        "demo" => await DemoVerb.RunAsync(rest, cancellation.Token),
        "help" => Usage(Console.Out, 0),
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
catch (AggregateException ex) when (ex.InnerExceptions.All(inner => inner is OptionsValidationException))
{
    // The host validates every options class at start and reports more than one failing class together.
    var failures = ex.InnerExceptions.Cast<OptionsValidationException>().SelectMany(inner => inner.Failures);
    await Console.Error.WriteLineAsync($"streamsegments {verb}: invalid options: {string.Join("; ", failures)}");
    return 2;
}
catch (SetupException ex)
{
    // Restarting unchanged cannot help (topics, state directory, a replay's state directory): not exit code 1.
    await Console.Error.WriteLineAsync($"streamsegments {verb}: {ex.Message}");
    return 2;
}
catch (InvalidOperationException ex) when (ex.InnerException is FormatException or OverflowException or ArgumentException
    && ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    await Console.Error.WriteLineAsync($"streamsegments {verb}: invalid options: {ex.Message} {ex.InnerException.Message}");
    return 2;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync($"streamsegments {verb}: cancelled");
    return 130;
}
catch (Exception ex)
{
    // Not an unhandled-exception abort (exit 134 and a core dump under some supervisors): the reason, and exit 1.
    await Console.Error.WriteLineAsync($"streamsegments {verb}: {ex}");
    return 1;
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
          run       (default) the Kafka worker: consumes the input topics, publishes segment changes exactly once.
                    With no bootstrap servers it starts an embedded broker, demo traffic and a live view of changes.
                    [--bootstrap-servers HOST:PORT] [--group-id ID] [--instance-id ID] [--state-dir DIR]
                    [--memory-budget BYTES] [--commit-interval-ms N] [--follow-wall-clock true|false]
                    [--demo true|false] [--print-changes true|false] [--partitions N] [--events-per-second N]
                    [--http-port 9464]  (health probes /health/live, /health/ready; Prometheus /metrics)
          demo      produce a demo marketplace's events (history, then live) to the input topics
                    [--bootstrap-servers 127.0.0.1:9092] [--history-events N] [--history-days N]
                    [--events-per-second N] [--buyers N] [--sellers N] [--seed N]
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

internal static class RunVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--bootstrap-servers"] = "Kafka:BootstrapServers",
        ["--group-id"] = "Kafka:GroupId",
        ["--instance-id"] = "Kafka:InstanceId",
        ["--commit-interval-ms"] = "Kafka:CommitIntervalMs",
        ["--follow-wall-clock"] = "Kafka:FollowWallClock",
        ["--state-dir"] = "State:Directory",
        ["--memory-budget"] = "State:MemoryBudgetBytes",
        ["--demo"] = "Run:Demo",
        ["--print-changes"] = "Run:PrintChanges",
        ["--partitions"] = "Run:EmbeddedPartitions",
        ["--events-per-second"] = "Demo:EventsPerSecond",
        ["--http-port"] = "Telemetry:Port",
    };

    // Measured: a views partition keeps ~23,100 demo records (~228 bytes each), and views are ~53% of the events, so
    // ~43,000 events a partition; the rest is room for buyers spread unevenly over the partitions.
    private const int DemoHistoryEventsPerEmbeddedPartition = 30_000;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateWebBuilder(args, Switches);
        builder.Services.AddValidatedOptions<SegmentStreamOptions>(SegmentStreamOptions.SectionName);
        builder.Services.AddValidatedOptions<RunOptions>(RunOptions.SectionName);
        builder.Services.AddValidatedOptions<DemoOptions>(DemoOptions.SectionName);
        builder.Services.AddSingleton(TimeProvider.System);

        // Before the embedded broker is chosen for want of Kafka:BootstrapServers: it may only be mistyped.
        KnownSettingsValidation<SegmentStreamOptions>.ThrowIfUnknown(builder.Configuration, SegmentStreamOptions.SectionName);
        var kafka = builder.Configuration.GetSection(SegmentStreamOptions.SectionName).Get<SegmentStreamOptions>() ?? new SegmentStreamOptions();
        var run = builder.Configuration.GetSection(RunOptions.SectionName).Get<RunOptions>() ?? new RunOptions();
        EmbeddedBroker? broker = null;
        string? embeddedState = null;
        if (string.IsNullOrWhiteSpace(kafka.BootstrapServers))
        {
            // The demo produces its history as fast as the broker takes it, and the embedded broker keeps only the
            // newest 5 MiB of each partition: more history than that would be dropped before the worker read it.
            var demo = builder.Configuration.GetSection(DemoOptions.SectionName).Get<DemoOptions>() ?? new DemoOptions();
            var history = (long)run.EmbeddedPartitions * DemoHistoryEventsPerEmbeddedPartition;
            if ((run.Demo ?? true) && demo.HistoryEvents > history)
            {
                throw new SetupException(
                    $"--Demo:HistoryEvents {demo.HistoryEvents} is more than the embedded broker keeps with {run.EmbeddedPartitions} partitions " +
                    $"(5 MiB each, about 43000 demo events, of which it allows {DemoHistoryEventsPerEmbeddedPartition}): at most {history}, or more --partitions.");
            }

            // The embedded broker keeps topics in memory: state from an earlier run would describe a changelog that
            // no longer exists, so this run gets a state directory of its own.
            broker = new EmbeddedBroker();
            foreach (var topic in kafka.Topics.All)
            {
                broker.CreateTopic(topic, run.EmbeddedPartitions);
            }

            embeddedState = Path.Combine(Path.GetTempPath(), $"streamsegments-embedded-{Guid.NewGuid():N}");
            if (builder.Configuration["State:Directory"] is { } configured && configured != new StateStoreOptions().Directory)
            {
                await Console.Error.WriteLineAsync(
                    $"run: State:Directory '{configured}' is not used with the embedded broker (its topics live in memory, so old state would not match them); state goes to {embeddedState}");
            }

            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["Kafka:BootstrapServers"] = broker.BootstrapServers,
                ["State:Directory"] = embeddedState,

                // It does not isolate transactions (SegmentStreamOptions.DeliverBeforeMarkers).
                ["Kafka:DeliverBeforeMarkers"] = "true",
            });
            await Console.Error.WriteLineAsync(
                $"run: no Kafka:BootstrapServers configured; embedded broker at {broker.BootstrapServers} " +
                $"({kafka.Topics.All.Count} topics x {run.EmbeddedPartitions} partitions, in memory). Ctrl-C stops.");
        }

        var telemetry = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.AddWorkerTelemetry(telemetry, kafka.TransactionalId);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(run.ShutdownTimeoutSeconds));
        builder.Services.AddSingleton<SegmentWorkerService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SegmentWorkerService>());
        builder.Services.AddHostedService<LoopWatchdogService>();
        if (run.Demo ?? broker is not null)
        {
            builder.Services.AddHostedService<DemoTrafficService>();
        }

        if (run.PrintChanges ?? broker is not null)
        {
            builder.Services.AddHostedService<ChangeFeedService>();
        }

        try
        {
            await using var app = builder.Build();
            app.MapWorkerEndpoints();
            app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
                "Health probes at /health/live and /health/ready, Prometheus metrics at /metrics on {Urls}", string.Join(", ", app.Urls)));
            var worker = app.Services.GetRequiredService<SegmentWorkerService>();
            await app.RunAsync(cancellationToken); // disposes the host's services when it returns
            if (worker.ExecuteTask is { IsCompleted: false } && !worker.Abandoned)
            {
                // Nothing is lost (a restart restores from the changelog), but the transaction may still be open
                // and the group not left: say so instead of exiting as if the stop had been clean.
                await Console.Error.WriteLineAsync(
                    $"run: the worker did not finish stopping within {run.ShutdownTimeoutSeconds} s (Run:ShutdownTimeoutSeconds); exiting anyway");
                return 1;
            }

            return Environment.ExitCode;
        }
        finally
        {
            broker?.Dispose();
            if (embeddedState is not null)
            {
                FasterBuyerStateStore.DeleteDirectory(embeddedState);
            }
        }
    }
}

internal static class DemoVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--bootstrap-servers"] = "Kafka:BootstrapServers",
        ["--history-events"] = "Demo:HistoryEvents",
        ["--history-days"] = "Demo:HistoryDays",
        ["--events-per-second"] = "Demo:EventsPerSecond",
        ["--buyers"] = "Demo:Buyers",
        ["--sellers"] = "Demo:Sellers",
        ["--seed"] = "Demo:Seed",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<DemoOptions>(DemoOptions.SectionName);
        builder.Services.AddValidatedOptions<SegmentStreamOptions>(SegmentStreamOptions.SectionName);
        using var host = builder.Build();
        var kafka = host.Services.GetRequiredService<IOptions<SegmentStreamOptions>>().Value;
        var traffic = new DemoTraffic(
            host.Services.GetRequiredService<IOptions<DemoOptions>>().Value, kafka.Topics,
            string.IsNullOrWhiteSpace(kafka.BootstrapServers) ? "127.0.0.1:9092" : kafka.BootstrapServers,
            TimeProvider.System, host.Services.GetRequiredService<ILogger<DemoTraffic>>())
        {
            ClientSettings = kafka.Client,
        };
        traffic.ProduceHistory(cancellationToken);
        try
        {
            await traffic.ProduceLiveAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await Console.Error.WriteLineAsync($"demo: {traffic.Produced} events produced");
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

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<StreamSegments.Worker.Generate.GeneratorOptions>(StreamSegments.Worker.Generate.GeneratorOptions.SectionName);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<StreamSegments.Worker.Generate.GeneratorOptions>>().Value;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await using var output = options.Output == "-" ? Console.OpenStandardOutput() : CreateOutput(options.Output);
        var last = StreamSegments.Worker.Generate.TrafficGenerator.Write(output, options, cancellationToken);
        await Console.Error.WriteLineAsync(
            $"generate: {options.Events} events, {options.Buyers} buyers, {options.Sellers} sellers, last event at " +
            $"{last.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}, {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private static FileStream CreateOutput(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return File.Create(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SetupException($"Cannot write '{path}': {ex.Message}", ex);
        }
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
