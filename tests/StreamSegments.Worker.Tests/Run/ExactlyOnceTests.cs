using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamSegments.Kafka.Broker;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Generate;

namespace StreamSegments.Worker.Tests.Run;

/// <summary>
/// The worker process against the embedded broker: killed at random points and restarted, or handing its tasks
/// to another instance, it publishes the same changes as an uninterrupted run: none missing, none twice.
/// </summary>
/// <remarks>
/// The embedded broker (librdkafka 2.16's mock) does not isolate transactions: read_committed readers also see
/// records of transactions that were never committed (checked: an open or aborted transaction's records are
/// returned). On it, "committed" is therefore read the way the worker's own restore reads it: a record counts
/// when the commit named in its <c>segments-commit</c> header has a marker on the changelog. On a real broker
/// read_committed alone gives the same set.
/// </remarks>
public sealed class ExactlyOnceTests : IDisposable
{
    // The embedded broker keeps only the newest 5 MiB of a partition. A killed worker's unfinished transactions
    // stay in the log and the work is redone, so the outputs and the changelog need more room than one clean run.
    private const int Partitions = 8;

    private readonly string workDirectory = Path.Combine(Path.GetTempPath(), $"ss-eos-{Guid.NewGuid():N}");
    private readonly string[] input = GenerateInput();

    [Fact]
    public void A_worker_killed_several_times_and_restarted_publishes_every_change_exactly_once()
    {
        using var expected = RunUninterrupted();
        using var scenario = new KafkaScenario(Partitions);
        scenario.Produce(input, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var state = Path.Combine(workDirectory, "killed");
        var random = new Random(11);
        var killedMidway = 0;
        var logs = new StringBuilder();
        for (var kill = 0; kill < 5; kill++)
        {
            using var worker = WorkerProcess.Start(scenario, "instance-a", state);
            Thread.Sleep(random.Next(1_500, 6_000));
            var committed = WorkerProcess.CommittedInputRecords(scenario);
            worker.Kill();
            logs.Append(CultureInfo.InvariantCulture, $"--- run {kill + 1}, killed after {committed} committed records\n{worker.Log}");
            if (committed < input.Length)
            {
                killedMidway++;
            }
        }

        using (var final = WorkerProcess.Start(scenario, "instance-a", state))
        {
            final.WaitUntilCommitted(scenario, input.Length);
            Assert.Equal(0, final.Stop());
            logs.Append(CultureInfo.InvariantCulture, $"--- final run\n{final.Log}");
        }

        Assert.True(killedMidway >= 2, $"only {killedMidway} kills happened before the input was processed");
        AssertSameOutputs(expected, scenario, logs.ToString());
    }

    [Fact]
    public void When_one_of_two_workers_stops_its_tasks_move_to_the_other_with_their_state()
    {
        using var expected = RunUninterrupted();
        using var scenario = new KafkaScenario(Partitions);
        var half = input.Length / 2;
        scenario.Produce(input.Take(half), new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var first = WorkerProcess.Start(scenario, "instance-a", Path.Combine(workDirectory, "a"));
        // The second half is produced while the second instance runs: a partition read to its end waits 5 s (README,
        // "Backfilling history") for the producer's next batch to it, not 250 ms that a loaded machine can outlast.
        using var second = WorkerProcess.Start(scenario, "instance-b", Path.Combine(workDirectory, "b"), ["--Kafka:CaughtUpIdleMs", "5000"]);
        first.WaitUntilCommitted(scenario, half);
        Assert.Contains("this instance now runs tasks", second.Log, StringComparison.Ordinal);

        Assert.Equal(0, first.Stop());
        scenario.Produce(input.Skip(half), new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(half));
        second.WaitUntilCommitted(scenario, input.Length);
        Assert.Contains($"runs tasks {string.Join(",", Enumerable.Range(0, Partitions))}", second.Log, StringComparison.Ordinal);
        Assert.Equal(0, second.Stop());

        AssertSameOutputs(expected, scenario);
    }

    [Fact]
    public void A_worker_facing_broker_faults_publishes_every_change_exactly_once()
    {
        using var expected = RunUninterrupted();
        using var scenario = new KafkaScenario(Partitions);
        scenario.Produce(input, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var broker = scenario.Broker;

        // Before the worker starts, so that its first transactions meet them: retriable errors on the produce and
        // commit requests (the producer must retry without duplicating or losing records), and slow responses that
        // stretch its processing over many round trips.
        broker.StartRequestTracking();
        broker.PushRequestErrors(KafkaApi.Produce, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas);
        broker.PushRequestErrors(KafkaApi.AddOffsetsToTxn, ErrorCode.GroupLoadInProgress, ErrorCode.ConcurrentTransactions);
        broker.PushRequestErrors(KafkaApi.EndTxn, ErrorCode.NotCoordinatorForGroup, ErrorCode.GroupCoordinatorNotAvailable);
        broker.SetRoundTripTime(TimeSpan.FromMilliseconds(50));

        // A task waits at most MaxTaskIdleMs for an input partition it cannot read before it takes the others'
        // records out of timestamp order (liveness over order, ARCHITECTURE.md); WorkerProcess's limit outlasts the outage.
        var state = Path.Combine(workDirectory, "faults");
        var worker = WorkerProcess.Start(scenario, "instance-a", state);
        var restarts = 0;
        try
        {
            // Then an outage in the middle of processing: the broker refuses every connection for a few seconds.
            var outageDeadline = DateTime.UtcNow.AddMinutes(2);
            while (!worker.HasExited && WorkerProcess.CommittedInputRecords(scenario) == 0 && DateTime.UtcNow < outageDeadline)
            {
                Thread.Sleep(200);
            }

            broker.SetBrokerDown();
            Thread.Sleep(3_000);
            broker.SetBrokerUp();
            broker.SetRoundTripTime(TimeSpan.Zero);

            // A fault the worker cannot ride out is fatal by design (exit 1, restart, restore): restart it as an
            // orchestrator would, and the outputs must still be exact.
            while (true)
            {
                var deadline = DateTime.UtcNow.AddMinutes(3);
                while (!worker.HasExited && WorkerProcess.CommittedInputRecords(scenario) < input.Length && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(1_000);
                }

                if (!worker.HasExited)
                {
                    break;
                }

                Assert.True(++restarts <= 3, $"the worker kept failing:\n{worker.Log}");
                worker.Dispose();
                worker = WorkerProcess.Start(scenario, "instance-a", state);
            }

            worker.WaitUntilCommitted(scenario, input.Length);
            Assert.Equal(0, worker.Stop());
            Console.WriteLine($"broker faults: the worker was restarted {restarts} times");
        }
        finally
        {
            worker.Dispose();
        }

        // Every injected error was served to a request (the mock hands them to the next requests of their kind).
        Assert.True(broker.CountRequests(KafkaApi.Produce) >= 3, "the injected Produce errors were not all served");
        Assert.True(broker.CountRequests(KafkaApi.AddOffsetsToTxn) >= 2, "the injected AddOffsetsToTxn errors were not all served");
        Assert.True(broker.CountRequests(KafkaApi.EndTxn) >= 2, "the injected EndTxn errors were not all served");
        AssertSameOutputs(expected, scenario);
    }

    public void Dispose()
    {
        if (Directory.Exists(workDirectory))
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }

    private KafkaScenario RunUninterrupted()
    {
        var scenario = new KafkaScenario(Partitions);
        scenario.Produce(input, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var worker = WorkerProcess.Start(scenario, "instance-a", Path.Combine(workDirectory, $"uninterrupted-{Guid.NewGuid():N}"));
        worker.WaitUntilCommitted(scenario, input.Length);
        Assert.Equal(0, worker.Stop());
        Assert.DoesNotContain("goes on without it", worker.Log, StringComparison.Ordinal);
        return scenario;
    }

    private static void AssertSameOutputs(KafkaScenario expected, KafkaScenario actual, string? logs = null)
    {
        var expectedChanges = Committed(expected, expected.Topics.SegmentChanges);
        Assert.NotEmpty(expectedChanges);
        AssertSameRecords(expectedChanges, Committed(actual, actual.Topics.SegmentChanges), "segment changes", logs);
        AssertSameRecords(
            Committed(expected, expected.Topics.CategoryInterestChanges), Committed(actual, actual.Topics.CategoryInterestChanges),
            "category interest changes", logs);
        var expectedDeadLetters = Committed(expected, expected.Topics.DeadLetter, value: false);
        Assert.NotEmpty(expectedDeadLetters);
        AssertSameRecords(expectedDeadLetters, Committed(actual, actual.Topics.DeadLetter, value: false), "dead letters", logs);
    }

    /// <summary>Equal as multisets; otherwise fails naming the records missing and those extra (a diff of sorted lists says neither).</summary>
    private static void AssertSameRecords(List<string> expected, List<string> actual, string what, string? logs)
    {
        var missing = new List<string>(expected);
        var extra = new List<string>();
        foreach (var record in actual)
        {
            if (!missing.Remove(record))
            {
                extra.Add(record);
            }
        }

        Assert.True(
            missing.Count == 0 && extra.Count == 0,
            $"{what}: {expected.Count} expected, {actual.Count} published; missing {missing.Count}:\n{string.Join('\n', missing.Take(20))}\n"
            + $"extra {extra.Count}:\n{string.Join('\n', extra.Take(20))}\n{logs}");
    }

    /// <summary>
    /// The committed records of a topic (see the class remarks), sorted: values, or for dead letters the reason and
    /// original value (not the source offset: records without a key land on a random partition).
    /// </summary>
    private static List<string> Committed(KafkaScenario scenario, string topic, bool value = true)
    {
        var commits = scenario.ReadCommitted(scenario.Topics.Changelog)
            .Where(r => CommitMarker.IsMarkerKey(r.Message.Key))
            .Select(r => Header(r.Message.Headers, CommitMarker.Header))
            .ToHashSet(StringComparer.Ordinal);
        return scenario.ReadCommitted(topic)
            .Where(r => commits.Contains(Header(r.Message.Headers, CommitMarker.Header)))
            .Select(r => value
                ? Encoding.UTF8.GetString(r.Message.Value!)
                : $"{Header(r.Message.Headers, "segments-source-topic")}/{Header(r.Message.Headers, "segments-reason")}/{Encoding.UTF8.GetString(r.Message.Value ?? [])}")
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static string Header(Confluent.Kafka.Headers headers, string name) =>
        headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "<none>";

    private static string[] GenerateInput()
    {
        using var output = new MemoryStream();
        TrafficGenerator.Write(output, new GeneratorOptions
        {
            Events = 40_000, Buyers = 3_000, Sellers = 40, Categories = 20, Days = 400, Seed = 5,
            DuplicateRate = 0.01, InvalidRate = 0.002, Start = new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero),
        });
        return Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
