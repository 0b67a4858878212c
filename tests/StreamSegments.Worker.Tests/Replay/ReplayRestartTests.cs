using System.Diagnostics;
using StreamSegments.Worker.Generate;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Replay;

/// <summary>
/// A replay killed part way and resumed from its FASTER checkpoint writes exactly what an uninterrupted
/// replay writes: no change lost, none duplicated.
/// </summary>
public sealed class ReplayRestartTests : IDisposable
{
    private const string AsOf = "2026-07-01T00:00:00.000Z";
    private static readonly string[] Outputs = ["changes.jsonl", "category-changes.jsonl", "rejects.jsonl"];

    private readonly string work = Path.Combine(Path.GetTempPath(), $"ss-restart-{Guid.NewGuid():N}");
    private readonly string input;

    public ReplayRestartTests()
    {
        Directory.CreateDirectory(work);
        input = Path.Combine(work, "input.jsonl");
        using var file = File.Create(input);
        TrafficGenerator.Write(file, new GeneratorOptions
        {
            Events = 120_000,
            Buyers = 8_000,
            Sellers = 20,
            Categories = 12,
            Start = DateTimeOffset.Parse("2025-09-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            Days = 300,
            Seed = 7,
            DuplicateRate = 0.02,
            InvalidRate = 0.005,
        });
    }

    public void Dispose()
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task A_replay_cancelled_part_way_and_resumed_equals_an_uninterrupted_replay()
    {
        using var whole = await UninterruptedAsync();
        using var interrupted = new ReplayScenario(input, AsOf);
        var state = Path.Combine(interrupted.WorkDirectory, "state");
        var options = interrupted.Options(stateDirectory: state, checkpointEvery: 5_000);
        using (var cancel = new CancellationTokenSource())
        {
            // Cancel once a checkpoint exists: the run stops between checkpoints, with lines past the newest one.
            var run = Task.Run(() => interrupted.RunAsync(options, cancellationToken: cancel.Token));
            var checkpoints = Path.Combine(state, "task-0", "checkpoints", "cpr-checkpoints");
            await WaitForAsync(() => Directory.Exists(checkpoints) && Directory.EnumerateDirectories(checkpoints).Any());
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        }

        var resumed = await interrupted.RunAsync(options);

        AssertSameOutputs(whole, interrupted);
        Assert.Equal(File.ReadLines(input).Count(), resumed.Lines);
    }

    [Fact]
    public async Task A_replay_process_killed_at_random_points_and_restarted_equals_an_uninterrupted_replay()
    {
        using var whole = await UninterruptedAsync();
        using var killed = new ReplayScenario(input, AsOf);
        var state = Path.Combine(killed.WorkDirectory, "state");
        var random = new Random(11);
        var kills = 0;
        var finished = false;
        for (var attempt = 0; attempt < 8 && !finished; attempt++)
        {
            using var process = StartReplay(killed, state);
            finished = process.WaitForExit(TimeSpan.FromMilliseconds(random.Next(300, 1500)));
            if (!finished)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                kills++;
            }
            else
            {
                Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
            }
        }

        // However slow the machine, the last restart runs to the end.
        if (!finished)
        {
            using var process = StartReplay(killed, state);
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await error);
        }

        Assert.True(kills > 0, "the replay finished before any kill; the input is too small to test restarts");
        AssertSameOutputs(whole, killed);
    }

    private async Task<ReplayScenario> UninterruptedAsync()
    {
        var whole = new ReplayScenario(input, AsOf);
        await whole.RunAsync();
        return whole;
    }

    private static Process StartReplay(ReplayScenario scenario, string state) => WorkerExecutable.Start(
    [
        "replay", "--input", scenario.Input, "--as-of", scenario.AsOf,
        "--snapshot", scenario.Output("snapshot.jsonl"), "--changes", scenario.Output("changes.jsonl"),
        "--category-changes", scenario.Output("category-changes.jsonl"), "--rejects", scenario.Output("rejects.jsonl"),
        "--state-dir", state, "--checkpoint-every", "5000", "--memory-budget", (16L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
    ]);

    private static void AssertSameOutputs(ReplayScenario expected, ReplayScenario actual)
    {
        foreach (var name in Outputs)
        {
            // Same lines in the same order: a resumed run continues the very same sequence.
            Assert.Equal(File.ReadAllLines(expected.Output(name)), File.ReadAllLines(actual.Output(name)));
        }

        Assert.Equal(
            File.ReadAllLines(expected.Output("snapshot.jsonl")).Order(StringComparer.Ordinal),
            File.ReadAllLines(actual.Output("snapshot.jsonl")).Order(StringComparer.Ordinal));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the replay made no progress");
            await Task.Delay(5);
        }
    }
}
