using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Worker.Broker;
using StreamSegments.Worker.Demo;
using StreamSegments.Worker.Generate;
using StreamSegments.Worker.Hosting;
using StreamSegments.Worker.Replay;
using StreamSegments.Worker.Run;

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
