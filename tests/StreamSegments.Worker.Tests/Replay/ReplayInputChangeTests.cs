using StreamSegments.Core;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Replay;

/// <summary>
/// A state directory belongs to one input and to one run at a time: a run resumed over an input that changed since
/// it was checkpointed would apply lines at the wrong instants, and two runs would write one store; either is
/// refused with the reason instead.
/// </summary>
public sealed class ReplayInputChangeTests : IDisposable
{
    private const string AsOf = "2026-10-15T12:00:00.000Z";
    private readonly string[] lines = File.ReadAllLines(Path.Combine(RepoPaths.Fixture("scenario-small"), "events.jsonl"));
    private readonly string work = Path.Combine(Path.GetTempPath(), $"ss-input-change-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task A_finished_replay_runs_again_over_the_same_input_but_is_not_resumed_over_one_that_grew_since()
    {
        var half = lines.Length / 2;
        var input = ReplayScenario.WriteInput(work, lines[..half]);
        using var replay = new ReplayScenario(input, AsOf);
        var options = replay.Options(stateDirectory: Path.Combine(replay.WorkDirectory, "state"), checkpointEvery: 1_000);
        await replay.RunAsync(options);
        var changes = File.ReadAllLines(replay.Output("changes.jsonl"));
        Assert.NotEmpty(changes);

        await replay.RunAsync(options);
        Assert.Equal(changes, File.ReadAllLines(replay.Output("changes.jsonl")));

        // A log file that grew: its new lines would be applied after the clock reached as-of.
        File.AppendAllLines(input, lines[half..]);
        var refused = await Assert.ThrowsAsync<SetupException>(() => replay.RunAsync(options));
        Assert.Contains("has grown since", refused.Message, StringComparison.Ordinal);
        Assert.Equal(changes, File.ReadAllLines(replay.Output("changes.jsonl")));
    }

    [Fact]
    public async Task A_replay_refuses_a_state_directory_another_run_holds_and_leaves_its_outputs_alone()
    {
        var input = ReplayScenario.WriteInput(work, lines);
        using var replay = new ReplayScenario(input, AsOf);
        var options = replay.Options(stateDirectory: Path.Combine(replay.WorkDirectory, "state"));
        await replay.RunAsync(options);
        var changes = File.ReadAllLines(replay.Output("changes.jsonl"));

        using (Storage.StateDirectoryLock.Acquire(options.StateDirectory!))
        {
            var refused = await Assert.ThrowsAsync<SetupException>(() => replay.RunAsync(options));
            Assert.Contains("is in use by another running instance", refused.Message, StringComparison.Ordinal);
            Assert.Equal(changes, File.ReadAllLines(replay.Output("changes.jsonl")));
        }

        await replay.RunAsync(options);
        Assert.Equal(changes, File.ReadAllLines(replay.Output("changes.jsonl")));
    }

    [Fact]
    public async Task A_replay_is_not_resumed_over_an_input_whose_replayed_lines_changed_since()
    {
        var input = ReplayScenario.WriteInput(work, lines);
        using var replay = new ReplayScenario(input, AsOf);
        var options = replay.Options(stateDirectory: Path.Combine(replay.WorkDirectory, "state"), checkpointEvery: 1_000);
        await replay.RunAsync(options);

        // Rewritten in place to the same length: one digit of the first line differs.
        var bytes = File.ReadAllBytes(input);
        var digit = Array.FindIndex(bytes, b => b is >= (byte)'0' and <= (byte)'8');
        bytes[digit]++;
        File.WriteAllBytes(input, bytes);

        var refused = await Assert.ThrowsAsync<SetupException>(() => replay.RunAsync(options));
        Assert.Contains("not those the checkpoint was taken over", refused.Message, StringComparison.Ordinal);
    }
}
