using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Storage;

namespace StreamSegments.Worker.Run;

/// <summary>
/// Hosts the processing loop on its own thread (it blocks in the consumer). A failure the loop cannot recover
/// from stops the application with exit code 1: a restart restores from the changelog, which is the designed
/// recovery path for every fatal Kafka error.
/// </summary>
public sealed partial class SegmentWorkerService(
    IOptions<SegmentStreamOptions> options,
    IOptions<SegmentPolicy> policy,
    IOptions<StateStoreOptions> state,
    SegmentStreamTelemetry telemetry,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger logger = loggers.CreateLogger<SegmentWorkerService>();

    public SegmentStreamProcessor? Processor { get; private set; }

    /// <summary>The loop stopped on an error (the application is stopping with exit code 1); read by the liveness probe.</summary>
    public bool Failed => Volatile.Read(ref failed);

    private bool failed;

    /// <summary>Marks the worker failed and sets the process's exit code: the loop stopped, or a watchdog gave up on it.</summary>
    public void Fail(int exitCode)
    {
        Volatile.Write(ref failed, true);
        Environment.ExitCode = exitCode;
    }

    /// <summary>
    /// Marks the worker failed and gives up on its loop, which is stuck in a call that does not return: a stop then
    /// waits for it only <see cref="AbandonedLoopGrace"/>, not <c>Run:ShutdownTimeoutSeconds</c> to no purpose, and
    /// the process exits with the loop's thread still blocked. Nothing is lost: the last commit is what a restart
    /// restores, and the transaction left open is aborted by the next instance with the same transactional id.
    /// </summary>
    public void Abandon(int exitCode)
    {
        Fail(exitCode);
        Volatile.Write(ref abandoned, true);
    }

    /// <summary>Whether a watchdog gave up on the loop (<see cref="Abandon"/>).</summary>
    public bool Abandoned => Volatile.Read(ref abandoned);

    private bool abandoned;

    /// <summary>How long a stop waits for an abandoned loop, in case its call returned after all.</summary>
    internal TimeSpan AbandonedLoopGrace { get; init; } = TimeSpan.FromSeconds(10);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!Abandoned)
        {
            await base.StopAsync(cancellationToken);
            return;
        }

        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(AbandonedLoopGrace);
        await base.StopAsync(grace.Token);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var processor = new SegmentStreamProcessor(
            options.Value, policy.Value, state.Value, loggers.CreateLogger<SegmentStreamProcessor>(),
            telemetry: telemetry);
        Processor = processor;
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    processor.Run(stoppingToken);
                }
                catch (SetupException ex)
                {
                    // Missing topics, unequal partition counts, a state directory in use: a restart would fail alike.
                    LogRefused(ex.Message);
                    Fail(exitCode: 2);
                    lifetime.StopApplication();
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    // A stop that interrupted a restore: nothing was committed for the task, and the next start
                    // restores it again. Let through, it would fault the task and be logged as a crash.
                }
                catch (Exception ex)
                {
                    LogFailed(ex);
                    Fail(exitCode: 1);
                    lifetime.StopApplication();
                }
                finally
                {
                    processor.Dispose();
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The worker stopped on an error; restart it to restore from the changelog")]
    private partial void LogFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The worker cannot start as configured (a restart will not help): {Reason}")]
    private partial void LogRefused(string reason);
}
