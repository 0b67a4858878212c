using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StreamSegments.Core.Policy;
using StreamSegments.Storage;
using StreamSegments.Worker.Replay;

namespace StreamSegments.Worker.Tests.Support;

/// <summary>A replay run in-process against files in a temporary directory, with its outputs read back.</summary>
public sealed class ReplayScenario : IDisposable
{
    public ReplayScenario(string input, string asOf)
    {
        Input = input;
        AsOf = asOf;
        Directory.CreateDirectory(WorkDirectory);
    }

    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), $"ss-replay-{Guid.NewGuid():N}");

    public string Input { get; }

    public string AsOf { get; }

    public string Output(string name) => Path.Combine(WorkDirectory, name);

    public static string WriteInput(string directory, IEnumerable<string> lines)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"input-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    public ReplayOptions Options(string? stateDirectory = null, int checkpointEvery = 1_000_000) => new()
    {
        Input = Input,
        AsOf = AsOf,
        Snapshot = Output("snapshot.jsonl"),
        Changes = Output("changes.jsonl"),
        CategoryChanges = Output("category-changes.jsonl"),
        Rejects = Output("rejects.jsonl"),
        StateDirectory = stateDirectory,
        CheckpointEvery = checkpointEvery,
    };

    public Task<ReplayCounters> RunAsync(
        ReplayOptions? options = null, SegmentPolicy? policy = null, StateStoreOptions? state = null, CancellationToken cancellationToken = default) =>
        new ReplayRunner(
            Microsoft.Extensions.Options.Options.Create(options ?? Options()),
            Microsoft.Extensions.Options.Options.Create(policy ?? new SegmentPolicy()),
            Microsoft.Extensions.Options.Options.Create(state ?? new StateStoreOptions { MemoryBudgetBytes = 16L << 20 }),
            NullLogger<ReplayRunner>.Instance).RunAsync(cancellationToken);

    /// <summary>The named fields of every line of an output, as sortable strings (outputs are compared as multisets).</summary>
    public List<string> Rows(string name, params string[] fields) => ReadRows(Output(name), fields);

    public static List<string> ReadRows(string path, params string[] fields) =>
        File.ReadLines(path)
            .Select(line =>
            {
                using var doc = JsonDocument.Parse(line);
                return string.Join("|", fields.Select(f => doc.RootElement.TryGetProperty(f, out var v) ? v.ToString() : "<missing>"));
            })
            .Order(StringComparer.Ordinal)
            .ToList();

    public void Dispose()
    {
        if (Directory.Exists(WorkDirectory))
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
    }
}
