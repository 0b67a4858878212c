using System.Diagnostics;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Hosting;

/// <summary>The executable's contract with its users: verbs, switches, validation, exit codes.</summary>
public class CommandLineTests
{
    [Fact]
    public async Task A_mistyped_switch_is_an_error_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync("replay", "--inptu", "x.jsonl");

        Assert.Equal(2, exit);
        Assert.Contains("unknown option '--inptu'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_are_reported_together_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync(
            "replay", "--input", "/nonexistent/events.jsonl", "--as-of", "yesterday", "--snapshot", "s", "--changes", "c",
            "--category-changes", "cc", "--Policy:WindowDays", "0");

        Assert.Equal(2, exit);
        Assert.Contains("--as-of 'yesterday' is not an RFC 3339 UTC instant", error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unexpected argument 'extra'", "extra")]
    [InlineData("option '--state-dir' needs a value", "--state-dir")]
    [InlineData("this verb reads no settings of section 'Polcy'", "--Polcy:WindowDays", "60")]
    [InlineData("this verb reads no settings of section 'Kafka'", "--Kafka:GroupId", "g")]
    [InlineData("this verb reads no settings of section 'Kafka'", "Kafka:GroupId=g")]
    [InlineData("Policy:WindowDayz is not a setting", "Policy:WindowDayz=30")]
    [InlineData("Policy:WindowDay is not a setting", "--Policy:WindowDay", "60")]
    [InlineData("Replay:Rejetcs is not a setting", "--Replay:Rejetcs", "r.jsonl")]
    [InlineData("Policy:WindowDays:x is not a setting", "--Policy:WindowDays:x", "60")]
    public async Task A_replay_argument_that_would_be_ignored_is_an_error_with_exit_code_2(string error, params string[] extra)
    {
        using var replay = new OneOrderReplay();

        var (exit, _, stderr) = await RunAsync([.. replay.Args, .. extra]);

        Assert.Equal(2, exit);
        Assert.Contains(error, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(replay.Output("c")), "nothing was replayed");
    }

    [Fact]
    public async Task A_mistyped_setting_in_the_environment_is_an_error_too()
    {
        using var replay = new OneOrderReplay();
        var info = WorkerExecutable.StartInfo(replay.Args);
        info.Environment["Policy__WindowDayz"] = "60";

        var (exit, _, error) = await RunAsync(info);

        Assert.Equal(2, exit);
        Assert.Contains("Policy:WindowDayz is not a setting", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_mistyped_bootstrap_servers_setting_stops_run_before_it_starts_an_embedded_broker()
    {
        var (exit, _, error) = await RunAsync("run", "--Kafka:BootstrapServer", "127.0.0.1:9", "--http-port", "0");

        Assert.Equal(2, exit);
        Assert.Contains("Kafka:BootstrapServer is not a setting", error, StringComparison.Ordinal);
        Assert.DoesNotContain("embedded broker", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--changes", "--input and --changes name the same file")]
    [InlineData("--rejects", "--input and --rejects name the same file")]
    [InlineData("--snapshot", "--input and --snapshot name the same file")]
    public async Task An_output_on_the_input_is_refused_and_the_input_kept(string output, string error)
    {
        using var replay = new OneOrderReplay();
        var input = replay.Output("in.jsonl");
        var before = await File.ReadAllTextAsync(input);

        var (exit, _, stderr) = await RunAsync(replay.ArgsWith(output, input));

        Assert.Equal(2, exit);
        Assert.Contains(error, stderr, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(input));
    }

    [Fact]
    public async Task Two_outputs_on_one_file_are_refused()
    {
        using var replay = new OneOrderReplay();

        var (exit, _, error) = await RunAsync(replay.ArgsWith("--category-changes", replay.Output("c")));

        Assert.Equal(2, exit);
        Assert.Contains("--changes and --category-changes name the same file", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--snapshot")]
    [InlineData("--state-dir")]
    public async Task An_unusable_path_is_refused_at_start_with_exit_code_2(string option)
    {
        using var replay = new OneOrderReplay();

        // Under a regular file, no directory can be made.
        var blocked = Path.Combine(replay.Output("in.jsonl"), "x");

        var (exit, _, error) = await RunAsync(replay.ArgsWith(option, blocked));

        Assert.Equal(2, exit);
        Assert.Contains(blocked, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.False(File.Exists(replay.Output("c")), "nothing was replayed");
    }

    [Fact]
    public async Task A_resume_that_would_write_other_outputs_than_its_checkpoint_is_refused()
    {
        using var replay = new OneOrderReplay();
        string[] args = [.. replay.Args, "--state-dir", replay.Output("state")];
        var (first, _, firstError) = await RunAsync(args);
        Assert.True(first == 0, firstError);

        // Rejects asked for only now would miss the lines rejected before the checkpoint.
        var (withRejects, _, rejectsError) = await RunAsync([.. args, "--rejects", replay.Output("r")]);
        Assert.Equal(2, withRejects);
        Assert.Contains("resume it with the same outputs", rejectsError, StringComparison.Ordinal);

        // An output the checkpoint counted lines of, gone since; the snapshot of the finished run stays as it was.
        var snapshot = await File.ReadAllTextAsync(replay.Output("s"));
        File.Delete(replay.Output("c"));
        var (withoutChanges, _, changesError) = await RunAsync(args);
        Assert.Equal(2, withoutChanges);
        Assert.Contains($"'{replay.Output("c")}' is shorter (0 bytes) than the state directory's checkpoint says", changesError, StringComparison.Ordinal);
        Assert.NotEmpty(snapshot);
        Assert.Equal(snapshot, await File.ReadAllTextAsync(replay.Output("s")));
    }

    [Fact]
    public async Task Generate_and_broker_refuse_values_they_cannot_use_with_exit_code_2()
    {
        var (generate, _, generateError) = await RunAsync("generate", "--output", "-", "--start", "9999-12-31T00:00:00Z");
        Assert.Equal(2, generate);
        Assert.Contains("--start 9999-12-31T00:00:00.0000000+00:00 is out of range", generateError, StringComparison.Ordinal);

        var (broker, _, brokerError) = await RunAsync("broker", "--host", "localhost", "--port", "0");
        Assert.Equal(2, broker);
        Assert.Contains("--host 'localhost' is not an IP address", brokerError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_creates_the_directory_of_its_output()
    {
        using var replay = new OneOrderReplay();
        var output = Path.Combine(replay.Work, "new", "events.jsonl");

        var (exit, _, error) = await RunAsync("generate", "--output", output, "--events", "10", "--buyers", "5");

        Assert.True(exit == 0, error);
        Assert.Equal(10, (await File.ReadAllLinesAsync(output)).Length);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("replay", "-h")]
    [InlineData("run", "--bootstrap-servers", "x:1", "--help")]
    public async Task Help_anywhere_prints_the_usage_with_exit_code_0(params string[] args)
    {
        var (exit, output, _) = await RunAsync(args);

        Assert.Equal(0, exit);
        Assert.StartsWith("usage: StreamSegments.Worker <verb> [options]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_an_invalid_option_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync(
            "replay", "--input", "x.jsonl", "--as-of", "2026-01-01T00:00:00Z", "--snapshot", "s", "--changes", "c",
            "--category-changes", "cc", "--checkpoint-every", "abc");

        Assert.Equal(2, exit);
        Assert.Contains("invalid options: Failed to convert configuration value 'abc' at 'Replay:CheckpointEvery'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_invalid_values_in_two_sections_gives_every_reason_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync(
            "run", "--bootstrap-servers", "127.0.0.1:9", "--http-port", "0", "--Policy:WindowDays", "-1", "--State:MemoryBudgetBytes", "5");

        Assert.Equal(2, exit);
        var reasons = Assert.Single(error.Split('\n'), line => line.StartsWith("streamsegments run: invalid options: ", StringComparison.Ordinal));
        Assert.Contains("'WindowDays' with the error", reasons, StringComparison.Ordinal);
        Assert.Contains("'MemoryBudgetBytes' with the error", reasons, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Policy:WindowDays", "30", "The state directory holds a replay of")]
    [InlineData("--State:MemoryBudgetBytes", "16777216", "were taken with 4194304-byte log pages and this store has 524288-byte pages")]
    public async Task A_replay_refused_by_its_state_directory_says_why_with_exit_code_2(string setting, string value, string reason)
    {
        using var replay = new OneOrderReplay();
        string[] args = [.. replay.Args, "--state-dir", replay.Output("state")];
        var (first, _, firstError) = await RunAsync(args);
        Assert.True(first == 0, firstError);

        var (exit, _, error) = await RunAsync([.. args, setting, value]);

        Assert.Equal(2, exit);
        Assert.Contains("streamsegments replay: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_embedded_run_refuses_more_demo_history_than_its_broker_keeps_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync("run", "--partitions", "3", "--Demo:HistoryEvents", "90001", "--http-port", "0");

        Assert.Equal(2, exit);
        Assert.Contains("--Demo:HistoryEvents 90001 is more than the embedded broker keeps with 3 partitions", error, StringComparison.Ordinal);
        Assert.Contains("at most 90000", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Policy:WindowDays", "30")]
    [InlineData("Policy:WindowDays=30")]
    public async Task A_policy_setting_on_the_command_line_changes_the_rules(params string[] setting)
    {
        using var replay = new OneOrderReplay();

        var (exit, _, error) = await RunAsync([.. replay.Args, .. setting]);

        Assert.True(exit == 0, error);
        Assert.Contains("2026-01-31T00:00:00.000Z", await File.ReadAllTextAsync(replay.Output("c")), StringComparison.Ordinal);
        Assert.Contains("replay: 1 lines, 1 events applied", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_broker_verb_serves_the_products_topics_on_the_requested_port()
    {
        var port = LoopbackPort.Free();
        using var process = Process.Start(WorkerExecutable.StartInfo(["broker", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--partitions", "3"]))!;
        try
        {
            var banner = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal($"broker: listening on 127.0.0.1:{port} (11 topics x 3 partitions, in memory); Ctrl-C stops it", banner);

            using var admin = new Confluent.Kafka.AdminClientBuilder(new Confluent.Kafka.AdminClientConfig { BootstrapServers = $"127.0.0.1:{port}" }).Build();
            var topics = admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics.ToDictionary(t => t.Topic, t => t.Partitions.Count);
            Assert.Equal(3, topics["orders.paid"]);
            Assert.Equal(3, topics["segments.state-changelog"]);
            Assert.Equal(3, topics["segments.current"]); // the optional current-state tables', for a worker that names them
            Assert.Equal(11, topics.Count);

            // A supervisor's stop (SIGTERM) ends it cleanly, as Ctrl-C does.
            Assert.Equal(0, await TerminateAsync(process));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    [Theory]
    [InlineData("broker", "--port")]
    [InlineData("run", "--http-port")]
    public async Task A_port_another_process_listens_on_stops_the_verb_with_exit_code_2_and_one_line_not_a_stack_trace(string verb, string portSwitch)
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // run: a broker nobody listens on, so that only the port can stop it.
        string[] args = verb == "run" ? [verb, portSwitch, port, "--bootstrap-servers", "127.0.0.1:1"] : [verb, portSwitch, port];
        var (exit, _, error) = await RunAsync(args);

        Assert.Equal(2, exit);
        Assert.Contains($"{port}", error, StringComparison.Ordinal);
        Assert.Contains("another process", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_whose_topics_are_missing_stops_with_exit_code_2_and_the_reason_not_a_restart_hint()
    {
        var port = LoopbackPort.Free();
        using var broker = Process.Start(WorkerExecutable.StartInfo(["broker", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--partitions", "1"]))!;
        var state = Path.Combine(Path.GetTempPath(), $"ss-cli-{Guid.NewGuid():N}");
        try
        {
            await broker.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));

            var (exit, output, error) = await RunAsync(
                "run", "--bootstrap-servers", $"127.0.0.1:{port}", "--state-dir", state, "--http-port", "0",
                "--Kafka:Topics:PerSegment:regular-top", "sellers.top-buyers").WaitAsync(TimeSpan.FromMinutes(2));

            Assert.Equal(2, exit);
            var log = output + error;
            Assert.Contains("cannot start as configured", log, StringComparison.Ordinal);
            Assert.Contains("Missing topics on 127.0.0.1:" + port + ": sellers.top-buyers", log, StringComparison.Ordinal);
            Assert.DoesNotContain("restart it", log, StringComparison.Ordinal);
        }
        finally
        {
            broker.Kill(entireProcessTree: true);
            await broker.WaitForExitAsync();
            if (Directory.Exists(state))
            {
                Directory.Delete(state, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Generate_stops_on_SIGTERM_with_exit_code_130()
    {
        var output = Path.Combine(Path.GetTempPath(), $"ss-cli-{Guid.NewGuid():N}.jsonl");
        using var process = Process.Start(WorkerExecutable.StartInfo(["generate", "--output", output, "--events", "100000000"]))!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(output) && new FileInfo(output).Length > 0) && !process.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal(130, await TerminateAsync(process));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            File.Delete(output);
        }
    }

    /// <summary>Sends SIGTERM, as a supervisor's stop does, and returns the exit code (within 30 s).</summary>
    private static async Task<int> TerminateAsync(Process process)
    {
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return process.ExitCode;
    }

    private static Task<(int Exit, string Output, string Error)> RunAsync(params string[] args) => RunAsync(WorkerExecutable.StartInfo(args));

    private static async Task<(int Exit, string Output, string Error)> RunAsync(ProcessStartInfo info)
    {
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>A work directory with a one-order input and the replay arguments over it; deleted when disposed.</summary>
    private sealed class OneOrderReplay : IDisposable
    {
        public OneOrderReplay()
        {
            Directory.CreateDirectory(Work);
            var input = Output("in.jsonl");
            File.WriteAllText(input, """{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":5}""" + "\n");
            Args = ["replay", "--input", input, "--as-of", "2026-03-01T00:00:00.000Z", "--snapshot", Output("s"), "--changes", Output("c"), "--category-changes", Output("cc")];
        }

        public string Work { get; } = Path.Combine(Path.GetTempPath(), $"ss-cli-{Guid.NewGuid():N}");

        public string[] Args { get; }

        public string Output(string name) => Path.Combine(Work, name);

        /// <summary>The arguments with <paramref name="option"/>'s value replaced, or the option added.</summary>
        public string[] ArgsWith(string option, string value)
        {
            var args = Args.ToList();
            var at = args.IndexOf(option);
            if (at >= 0)
            {
                args[at + 1] = value;
            }
            else
            {
                args.AddRange([option, value]);
            }

            return [.. args];
        }

        public void Dispose() => Directory.Delete(Work, recursive: true);
    }
}
