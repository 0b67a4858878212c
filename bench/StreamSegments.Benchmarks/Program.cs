using BenchmarkDotNet.Running;
using StreamSegments.Benchmarks;

// `kafka` runs the end-to-end worker measurement (not a BenchmarkDotNet benchmark: it needs a broker and
// minutes); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "kafka")
{
    await KafkaWorkerBenchmark.RunAsync(args[1..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
