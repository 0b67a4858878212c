using System.Globalization;
using System.IO.Hashing;

namespace StreamSegments.Storage;

/// <summary>
/// What a store's newest checkpoint consists of, written once it has committed: the size and hash of each of its
/// files, and the size each log segment had then. FASTER recovers a checkpoint whose index file was cut short
/// without a word, and the store then answers wrongly for every buyer the lost buckets held (changes published
/// that an uninterrupted run never makes); checked before a recovery, such damage refuses the checkpoint instead,
/// and the worker rebuilds the task from its changelog. Log segments only grow while a checkpoint is the newest
/// (compaction runs just before one), so a segment shorter than listed, or gone, is damage too; their contents
/// are not hashed, which would read the whole log.
/// </summary>
internal static class CheckpointManifest
{
    public const string FileName = "manifest";

    /// <summary>FASTER's folders of a checkpoint, each with one subfolder per checkpoint token.</summary>
    public static readonly string[] Kinds = ["index-checkpoints", "cpr-checkpoints"];

    /// <summary>
    /// Lists checkpoint <paramref name="token"/>'s files and the log segments from <paramref name="firstLiveSegment"/> on
    /// (those before the log's begin address are FASTER's to delete), replacing the previous list.
    /// </summary>
    public static void Write(string checkpointDirectory, string logDirectory, Guid token, long firstLiveSegment)
    {
        var lines = new List<string> { $"token {token}" };
        foreach (var file in CheckpointFiles(checkpointDirectory, token))
        {
            lines.Add(Line("checkpoint", Path.GetRelativePath(checkpointDirectory, file), new FileInfo(file).Length, HashOf(file)));
        }

        foreach (var segment in Directory.Exists(logDirectory) ? Directory.EnumerateFiles(logDirectory, "hlog.*") : [])
        {
            if (long.TryParse(Path.GetExtension(segment).AsSpan(1), CultureInfo.InvariantCulture, out var number) && number >= firstLiveSegment)
            {
                lines.Add(Line("log", Path.GetFileName(segment), new FileInfo(segment).Length, hash: null));
            }
        }

        var path = Path.Combine(checkpointDirectory, FileName);
        using (var output = new StreamWriter(path + ".tmp"))
        {
            output.Write(string.Join('\n', lines));
            output.Flush();
            ((FileStream)output.BaseStream).Flush(flushToDisk: true);
        }

        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>
    /// What differs from the manifest of checkpoint <paramref name="recovering"/> (a file missing, shorter, or with
    /// other contents), or null when nothing does or it has none: a checkpoint of an earlier build, or one that committed
    /// just before a crash, whose manifest was not written yet (the file then still lists the one before).
    /// </summary>
    public static string? Damage(string checkpointDirectory, string logDirectory, Guid recovering)
    {
        var path = Path.Combine(checkpointDirectory, FileName);
        var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        if (lines.Length == 0 || lines[0] != $"token {recovering}")
        {
            return null;
        }

        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(' ');
            if (fields.Length != 4 || !long.TryParse(fields[2], CultureInfo.InvariantCulture, out var size))
            {
                return $"its manifest has a line it cannot read: '{line}'";
            }

            var (kind, name, hash) = (fields[0], fields[1], fields[3]);
            var file = kind == "log" ? Path.Combine(logDirectory, name) : Path.Combine(checkpointDirectory, name);
            if (!File.Exists(file))
            {
                return $"{file} is missing";
            }

            var length = new FileInfo(file).Length;
            if (kind == "log" ? length < size : length != size)
            {
                return $"{file} has {length} bytes where the checkpoint left {size}";
            }

            if (hash != "-" && hash != HashOf(file))
            {
                return $"{file} does not have the contents the checkpoint wrote";
            }
        }

        return null;
    }

    private static IEnumerable<string> CheckpointFiles(string checkpointDirectory, Guid token) =>
        Kinds
            .Select(kind => Path.Combine(checkpointDirectory, kind, token.ToString()))
            .Where(Directory.Exists)
            .SelectMany(directory => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal);

    private static string Line(string kind, string name, long size, string? hash) =>
        string.Create(CultureInfo.InvariantCulture, $"{kind} {name} {size} {hash ?? "-"}");

    private static string HashOf(string file)
    {
        var hash = new XxHash64();
        using var input = File.OpenRead(file);
        hash.Append(input);
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }
}
