using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamSegments.Worker.Generate;
using StreamSegments.Worker.Tests.Support;

namespace StreamSegments.Worker.Tests.Replay;

/// <summary>
/// A replay without <c>--state-dir</c> keeps its FASTER store in a temporary directory and never checkpoints, so
/// unless it compacts on its own its log grows with every record version written, for the whole replay (measured:
/// 1.36 GB for 5M generated events at a 32 MiB budget, where the same replay with a state directory stays between
/// 240 and 560 MB; 41 GB, and a crash out of file handles, for 1M views of buyers with large records).
/// </summary>
/// <remarks>
/// No timing: the input is a FIFO the test writes. The replay reads it in batches and applies a batch before it
/// reads the next, so once the test has pushed most of the input through the pipe (a write returns only when the
/// pipe has room, 64 KiB), the replay has applied all but its last few hundred lines. The store's log files are
/// measured then, while the replay waits for the rest; only the in-memory part of the log (2 MiB here) may not be
/// on disk yet.
/// </remarks>
public sealed class ReplayTemporaryStoreTests : IDisposable
{
    private readonly string work = Path.Combine(Path.GetTempPath(), $"ss-tempstore-{Guid.NewGuid():N}");

    public ReplayTemporaryStoreTests() => Directory.CreateDirectory(work);

    public void Dispose()
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task A_replay_without_a_state_directory_keeps_its_temporary_log_bounded_like_one_with_a_state_directory()
    {
        using var generated = new MemoryStream();
        TrafficGenerator.Write(generated, new GeneratorOptions
        {
            Events = 300_000,
            Buyers = 30_000,
            Sellers = 50,
            Categories = 20,
            Start = DateTimeOffset.Parse("2025-01-01T00:00:00Z", CultureInfo.InvariantCulture),
            Days = 400,
            Seed = 5,
        });

        // --checkpoint-every is the interval a replay with a state directory compacts at (when it checkpoints).
        var logBytes = await LogBytesBeforeTheLastTenth(generated.ToArray(), "--checkpoint-every", "20000");

        // 270k events applied: without compaction the log holds every version written (tens of MiB); compacted at
        // each interval it stays near twice what one interval writes, a few MiB. 24 MiB is three times the point
        // at which compaction is due.
        Assert.True(logBytes < 24L << 20, $"the temporary store's log is {logBytes / (1 << 20)} MiB after 90% of the input: it is never compacted");
    }

    [Fact]
    public async Task Buyers_with_large_records_have_the_log_compacted_as_it_grows_not_only_every_checkpoint_interval()
    {
        // 20 buyers, each view in a new category with a 208-byte id: every event rewrites a record that ends near
        // 100 KB, and 10,000 events write ~460 MB of versions, all well within the default --checkpoint-every.
        var input = new StringBuilder();
        var start = DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture);
        for (var i = 0; i < 10_000; i++)
        {
            var category = $"c{i:D7}" + new string('x', 200);
            input.Append(CultureInfo.InvariantCulture, $$"""{"type":"product-viewed","eventId":"e{{i}}","occurredAt":"{{start.AddSeconds(i):yyyy-MM-ddTHH:mm:ss.fffZ}}","buyerId":"b{{i % 20}}","sellerId":"s1","productId":"p","categoryId":"{{category}}"}""").Append('\n');
        }

        var logBytes = await LogBytesBeforeTheLastTenth(Encoding.UTF8.GetBytes(input.ToString()));

        // Uncompacted, the log would hold the ~416 MiB written by then. Compacted as it grows, checked after every
        // batch of 256 lines (~27 MB written by the end), it stays near 90 MiB.
        Assert.True(logBytes < 160L << 20, $"the temporary store's log is {logBytes / (1 << 20)} MiB after 90% of the input: it grows until the line-count interval");
    }

    /// <summary>
    /// Replays <paramref name="input"/> through a FIFO at a 4 MiB budget (a 2 MiB log in memory, so compaction is due
    /// from an 8 MiB log at CompactionLogRatio 4) with 4 MiB segments (so a compacted log can also give its files
    /// back), and measures the temporary store's log files once all but the last tenth has been pushed through.
    /// </summary>
    private async Task<long> LogBytesBeforeTheLastTenth(byte[] input, params string[] arguments)
    {
        var fifo = Path.Combine(work, "input.fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var temp = Path.Combine(work, "tmp");
        Directory.CreateDirectory(temp);
        using var replay = WorkerExecutable.Start(
            [
                "replay", "--input", fifo, "--as-of", "2026-03-01T00:00:00.000Z",
                "--snapshot", Path.Combine(work, "snapshot.jsonl"), "--changes", Path.Combine(work, "changes.jsonl"),
                "--category-changes", Path.Combine(work, "category-changes.jsonl"),
                "--memory-budget", (4L << 20).ToString(CultureInfo.InvariantCulture), "--State:SegmentSizeBits", "22",
                .. arguments,
            ],
            new Dictionary<string, string> { ["TMPDIR"] = temp });
        var stderr = replay.StandardError.ReadToEndAsync();
        var stdout = replay.StandardOutput.ReadToEndAsync();

        try
        {
            long logBytes;
            var opening = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write));
            await using (var pipe = await opening.WaitAsync(TimeSpan.FromMinutes(2)))
            {
                // All but the last tenth, cut at a line end; then the log is measured while the replay waits for the rest.
                var cut = Array.LastIndexOf(input, (byte)'\n', input.Length * 9 / 10) + 1;
                await pipe.WriteAsync(input.AsMemory(0, cut));
                await pipe.FlushAsync();
                logBytes = Directory.EnumerateFiles(temp, "hlog*", SearchOption.AllDirectories).Sum(SizeUnlessDeleted);
                await pipe.WriteAsync(input.AsMemory(cut));
            }

            await replay.WaitForExitAsync();
            Assert.True(replay.ExitCode == 0, await stderr + await stdout);
            return logBytes;
        }
        finally
        {
            // A failure before the replay has read its input would leave it waiting on the FIFO for ever.
            if (!replay.HasExited)
            {
                replay.Kill(entireProcessTree: true);
            }
        }
    }

    // The replay may be compacting while the files are listed: a segment file it gives back is gone by the time it is
    // measured.
    private static long SizeUnlessDeleted(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }
}
