using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Run;

/// <summary>The worker executable (`run`) as a child process against a scenario's embedded broker.</summary>
public sealed class WorkerProcess : IDisposable
{
    public const string GroupId = "segments-it";

    private readonly Process process;
    private readonly StringBuilder log = new();

    private WorkerProcess(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    public bool HasExited => process.HasExited;

    public static WorkerProcess Start(
        KafkaScenario scenario, string instanceId, string stateDirectory, string[]? extraArguments = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        return new WorkerProcess(WorkerExecutable.Start(
        [
            "run", "--bootstrap-servers", scenario.Broker.BootstrapServers, "--group-id", GroupId, "--instance-id", instanceId,
            "--state-dir", stateDirectory, "--memory-budget", (8L << 20).ToString(CultureInfo.InvariantCulture),
            "--follow-wall-clock", "false", "--Kafka:CheckpointIntervalMs", "2000",

            // A killed member must leave the group quickly, or its successor waits for it.
            "--Kafka:Client:session.timeout.ms", "6000", "--Kafka:Client:heartbeat.interval.ms", "500",
            "--Logging:LogLevel:Default", "Warning", "--Logging:LogLevel:StreamSegments", "Information",

            // Several instances run at once: each gets a free port for its health and metrics listener.
            "--http-port", "0",

            // Outputs are compared with another run's: a task must not give up waiting for an input partition that
            // is slow to be fetched on a loaded machine (after 2 s by default) and take records out of timestamp
            // order, or late records are evaluated at its clock and the changes differ for reasons unrelated to the
            // test (seen: a few hundred changes of an uninterrupted run stamped with the input's last instant).
            "--Kafka:MaxTaskIdleMs", "30000",

            // The embedded broker does not isolate transactions: see SegmentStreamOptions.DeliverBeforeMarkers.
            "--Kafka:DeliverBeforeMarkers", "true",
            .. extraArguments ?? [],
        ], environment));
    }

    /// <summary>
    /// How many input records the worker has committed: the sum of the input offsets in each task's newest commit
    /// marker. (Not the group's offsets: the embedded broker accepts transactional offset commits but does not
    /// store them.)
    /// </summary>
    public static long CommittedInputRecords(KafkaScenario scenario) =>
        scenario.ReadCommitted(scenario.Topics.Changelog)
            .Where(r => CommitMarker.IsMarkerKey(r.Message.Key))
            .GroupBy(r => r.Partition.Value)
            .Sum(g => CommitMarker.Deserialize(g.MaxBy(r => r.Offset.Value)!.Message.Value).NextOffsets.Sum(o => Math.Max(o, 0)));

    /// <summary>Waits until the worker has committed every input record (<paramref name="total"/>).</summary>
    public void WaitUntilCommitted(KafkaScenario scenario, long total)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (CommittedInputRecords(scenario) < total)
        {
            if (process.HasExited)
            {
                Assert.Fail($"the worker exited ({process.ExitCode}):\n{Log}");
            }

            Assert.True(DateTime.UtcNow < deadline, $"the worker did not commit all {total} input records:\n{Log}");
            Thread.Sleep(1000);
        }
    }

    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>SIGTERM: the host's graceful shutdown (commit, checkpoint, leave the group).</summary>
    public int Stop()
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            Kill();
            Assert.Fail($"the worker did not stop on SIGTERM:\n{Log}");
        }

        return process.ExitCode;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            Kill();
        }

        process.Dispose();
    }
}
