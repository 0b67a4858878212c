using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Storage;
using StreamSegments.Worker.Telemetry;

namespace StreamSegments.Worker.Run;

/// <summary>
/// Stops the worker with exit code 1 once its liveness probe has failed for <see cref="RunOptions.StallExitSeconds"/>:
/// a loop stuck in a call that never returns (FASTER waiting on a write a full disk failed) logs nothing and never
/// exits by itself, and not every supervisor probes. The log line says what the loop was doing and how much space
/// the state directory has left.
/// </summary>
public sealed partial class LoopWatchdogService : BackgroundService
{
    private readonly Func<WatchedLoop?> watch;
    private readonly Action<int> abandon;
    private readonly IOptions<RunOptions> run;
    private readonly IOptions<TelemetryOptions> telemetry;
    private readonly IOptions<StateStoreOptions> state;
    private readonly IHostApplicationLifetime lifetime;
    private readonly ILogger logger;

    public LoopWatchdogService(
        SegmentWorkerService worker,
        IOptions<RunOptions> run,
        IOptions<TelemetryOptions> telemetry,
        IOptions<StateStoreOptions> state,
        IHostApplicationLifetime lifetime,
        ILogger<LoopWatchdogService> logger)
        : this(
            () => worker.Processor is { } processor
                ? new WatchedLoop(worker.Failed, processor.Status.IsRestoring, processor.Status.SilentFor, processor.Status.Step)
                : null,
            worker.Abandon, run, telemetry, state, lifetime, logger)
    {
    }

    internal LoopWatchdogService(
        Func<WatchedLoop?> watch, Action<int> abandon, IOptions<RunOptions> run, IOptions<TelemetryOptions> telemetry,
        IOptions<StateStoreOptions> state, IHostApplicationLifetime lifetime, ILogger logger)
    {
        // Options are read when the watch starts, not here: the host validates them all at start and reports every
        // reason at once, which a read during construction would cut short.
        this.watch = watch;
        this.abandon = abandon;
        this.run = run;
        this.telemetry = telemetry;
        this.state = state;
        this.lifetime = lifetime;
        this.logger = logger;
    }

    internal TimeSpan CheckEvery { get; init; } = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stallExitSeconds = run.Value.StallExitSeconds;
        var probes = telemetry.Value;
        var stateDirectory = state.Value.Directory;
        if (stallExitSeconds == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(CheckEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (watch() is not { Failed: false } loop)
                {
                    continue;
                }

                var silentFor = loop.SilentFor;
                if (silentFor.TotalSeconds > WorkerLivenessCheck.SilenceLimitSeconds(loop.Restoring, probes) + stallExitSeconds)
                {
                    LogStalled((long)silentFor.TotalSeconds, loop.Step, stateDirectory, FreeBytes(stateDirectory));
                    abandon(1);
                    lifetime.StopApplication();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static long FreeBytes(string directory)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message =
        "The processing loop has made no progress for {SilentSeconds} s while {Step}: a storage or broker call is not returning " +
        "(the state directory {StateDirectory} has {FreeBytes} bytes free; on a full disk FASTER waits forever). " +
        "Stopping with exit code 1 without waiting for it; a restart restores from the checkpoint and the changelog")]
    private partial void LogStalled(long silentSeconds, string step, string stateDirectory, long freeBytes);
}

/// <summary>What the watchdog reads of the loop: <see cref="Kafka.Processing.SegmentStreamProcessor"/>'s progress.</summary>
internal readonly record struct WatchedLoop(bool Failed, bool Restoring, TimeSpan SilentFor, string Step);
