using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StreamSegments.Core.Policy;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Telemetry;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Storage;
using StreamSegments.Worker.Run;
using StreamSegments.Worker.Telemetry;

namespace StreamSegments.Worker.Tests.Run;

/// <summary>
/// A loop stuck in a call that never returns (FASTER on a full disk) must end the process for a supervisor that
/// does not probe, with a log line saying where it is stuck; a loop that is slow but within its probe's limits must not.
/// </summary>
public class LoopWatchdogTests
{
    private static readonly RunOptions Run = new() { StallExitSeconds = 240 };
    private static readonly TelemetryOptions Probes = new() { LivenessTimeoutSeconds = 60, RestoreLivenessTimeoutSeconds = 600 };

    [Fact]
    public async Task A_loop_silent_past_its_liveness_limit_and_the_stall_time_stops_the_worker_with_exit_code_1_and_says_where_it_is_stuck()
    {
        var outcome = await Watch(new WatchedLoop(false, false, TimeSpan.FromSeconds(301), "checkpointing task 2"));

        Assert.Equal(1, outcome.ExitCode);
        Assert.True(outcome.Stopped);
        var line = Assert.Single(outcome.Log);
        Assert.Contains("while checkpointing task 2", line, StringComparison.Ordinal);
        Assert.Contains("bytes free", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, 290, false)] // 60 s probe + 240 s: not yet
    [InlineData(true, 800, false)] // a restore gets its own probe limit (600 s) + 240 s
    [InlineData(true, 845, true)]
    [InlineData(false, 3_600, true)]
    public async Task The_stall_time_counts_from_where_the_liveness_probe_fails(bool restoring, int silentSeconds, bool stops)
    {
        var outcome = await Watch(new WatchedLoop(false, restoring, TimeSpan.FromSeconds(silentSeconds), "polling"));

        Assert.Equal(stops, outcome.Stopped);
        Assert.Equal(stops ? 1 : (int?)null, outcome.ExitCode);
    }

    [Fact]
    public async Task A_loop_that_already_failed_or_a_stall_time_of_0_is_left_to_the_worker_and_the_probe()
    {
        var silent = TimeSpan.FromHours(1);
        Assert.False((await Watch(new WatchedLoop(true, false, silent, "committing"))).Stopped);
        Assert.False((await Watch(new WatchedLoop(false, false, silent, "committing"), new RunOptions { StallExitSeconds = 0 })).Stopped);
    }

    [Fact]
    public async Task A_stop_after_the_watchdog_abandoned_the_loop_does_not_wait_for_the_call_it_is_stuck_in()
    {
        // Every broker response takes 25 s: the loop's first calls (topic metadata, the producer's transactions) block.
        using var scenario = new KafkaScenario(partitions: 1);
        scenario.Broker.SetRoundTripTime(TimeSpan.FromSeconds(25));
        scenario.Broker.StartRequestTracking();
        var options = scenario.Options();
        using var telemetry = new SegmentStreamTelemetry(null, options);
        var lifetime = new RecordingLifetime();
        using var worker = new SegmentWorkerService(
            Options.Create(options), Options.Create(new SegmentPolicy()), Options.Create(scenario.StateOptions()), telemetry, lifetime,
            NullLoggerFactory.Instance)
        {
            AbandonedLoopGrace = TimeSpan.FromMilliseconds(200),
        };
        await worker.StartAsync(CancellationToken.None);
        KafkaScenario.WaitFor(() => scenario.Broker.CountRequests(KafkaApi.ApiVersions) > 0, "the loop's first request");

        worker.Abandon(1);
        await worker.StopAsync(CancellationToken.None);

        Assert.False(worker.ExecuteTask!.IsCompleted, $"the stop waited for the stuck loop ({worker.ExecuteTask.Status})");
        Assert.True(worker.Failed);
        scenario.Broker.SetRoundTripTime(TimeSpan.Zero);
        await worker.ExecuteTask.WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>Runs the watchdog over a loop frozen in <paramref name="loop"/> for a few dozen checks.</summary>
    private static async Task<(bool Stopped, int? ExitCode, IReadOnlyList<string> Log)> Watch(WatchedLoop loop, RunOptions? run = null)
    {
        var lifetime = new RecordingLifetime();
        var logger = new RecordingLogger<LoopWatchdogService>();
        int? exitCode = null;
        var checks = 0;
        using var watchdog = new LoopWatchdogService(
            () =>
            {
                Interlocked.Increment(ref checks);
                return loop;
            },
            code => exitCode = code, Options.Create(run ?? Run), Options.Create(Probes),
            Options.Create(new StateStoreOptions { Directory = Path.GetTempPath() }), lifetime, logger)
        {
            CheckEvery = TimeSpan.FromMilliseconds(5),
        };
        await watchdog.StartAsync(CancellationToken.None);

        // Counted in checks, not in time: on a loaded machine the watchdog's timer may not tick for a while, and a
        // watch that ended before its first check would find a stopping loop not stopped.
        const int Checks = 30;
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!lifetime.Stopped && Volatile.Read(ref checks) < Checks && !watchdog.ExecuteTask!.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(lifetime.Stopped || checks >= Checks || watchdog.ExecuteTask!.IsCompleted, $"the watchdog made {checks} checks in a minute");
        await watchdog.StopAsync(CancellationToken.None);
        return (lifetime.Stopped, exitCode, logger.Lines);
    }

    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        public bool Stopped { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped = true;
    }
}
