using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamSegments.Core;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Storage;
using StreamSegments.Worker.Demo;
using StreamSegments.Worker.Hosting;
using StreamSegments.Worker.Telemetry;

namespace StreamSegments.Worker.Run;

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
        EnsureListenerPortIsFree(telemetry);
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

    /// <summary>
    /// Refuses a probes-and-metrics port another process holds before anything starts: Kestrel would fail only once the
    /// host starts, with a stack trace and exit code 1, which tells a supervisor to restart into the same failure.
    /// </summary>
    private static void EnsureListenerPortIsFree(TelemetryOptions telemetry)
    {
        if (telemetry.Port is <= 0 or > 65535 || !IPAddress.TryParse(telemetry.Host, out var address))
        {
            return; // 0 picks a free port; values out of range are the options validation's to report
        }

        var probe = new TcpListener(address, telemetry.Port);
        try
        {
            probe.Start();
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new SetupException(
                $"Telemetry:Port {telemetry.Port} on {telemetry.Host} is in use by another process (choose another with --http-port; 0 picks a free one).");
        }
        finally
        {
            probe.Stop();
        }
    }
}
