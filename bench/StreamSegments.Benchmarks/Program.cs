using BenchmarkDotNet.Running;
using StreamSegments.Benchmarks;

// `engine ROUNDS` runs the engine benchmark's workload in a plain loop (for a profiler: perf, dotnet-trace).
if (args.Length > 0 && args[0] == "engine")
{
    EngineBenchmarks.RunLoop(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}

// `kafka` runs the end-to-end worker measurement and `kafka-telemetry` the instrumentation's cost on it (not
// BenchmarkDotNet benchmarks: they need a broker and minutes); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "kafka")
{
    await KafkaWorkerBenchmark.RunAsync(args[1..]);
    return;
}

if (args.Length > 0 && args[0] == "kafka-telemetry")
{
    KafkaWorkerBenchmark.RunTelemetryOverhead(args[1..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(EngineBenchmarks).Assembly).Run(args);
