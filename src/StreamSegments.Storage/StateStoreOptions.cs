using System.ComponentModel.DataAnnotations;

namespace StreamSegments.Storage;

/// <summary>
/// Where and how large a task's FASTER store is. Bound from configuration section <c>State</c>.
/// The memory budget covers the hash index and the in-memory part of the log; the rest spills to disk.
/// </summary>
public sealed class StateStoreOptions
{
    public const string SectionName = "State";

    // 512 KiB: the largest record any budget writes (a 256 KiB part with its slack and key) fits.
    private const int MinPageBits = 19;

    /// <summary>Root directory; each task gets a sub-directory with its log and checkpoints.</summary>
    [Required]
    public string Directory { get; set; } = "state";

    /// <summary>Memory for one task's store: index plus in-memory log (rounded down to powers of two).</summary>
    [Range(4L << 20, 1L << 40)]
    public long MemoryBudgetBytes { get; set; } = 256L << 20;

    /// <summary>Fraction of the in-memory log that is updated in place; the rest is read-only and flushing to disk.</summary>
    [Range(0.1, 1.0)]
    public double MutableFraction { get; set; } = 0.9;

    /// <summary>Size of each log file on disk.</summary>
    [Range(20, 36)]
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>
    /// Compact when the log (begin to tail) is this many times the in-memory log: records superseded by newer
    /// versions or deleted are reclaimed, so the disk holds the live state and what was written since, not the whole
    /// history. The worker checks at each checkpoint, so under a backlog its log can reach about twice what one
    /// checkpoint interval writes; a replay checks after every batch of lines (FasterBuyerStateStore.CompactionDue).
    /// Disk space comes back a whole segment file (<see cref="SegmentSizeBits"/>) at a time.
    /// </summary>
    [Range(1.5, 1000)]
    public double CompactionLogRatio { get; set; } = 4;

    /// <summary>
    /// After a full checkpoint has committed, delete every other one (they are never needed to recover). Done by
    /// the store, not by FASTER, whose own pruning can delete an index a surviving checkpoint still needs.
    /// </summary>
    public bool RemoveOutdatedCheckpoints { get; set; } = true;

    internal StoreGeometry Geometry()
    {
        var indexBytes = PreviousPowerOfTwo(MemoryBudgetBytes / 4);
        var logBytes = PreviousPowerOfTwo(MemoryBudgetBytes - indexBytes);

        // At least 16 pages in memory so flushing and eviction overlap; a record must fit in one page. Pages are never
        // smaller than 512 KiB: a task's changelog may have been written by an instance with a larger budget, whose
        // parts of up to 256 KiB (with their slack and key) a restore writes as they are.
        var pageBits = Math.Max(MinPageBits, Math.Min(22, Log2(logBytes) - 4));
        return new StoreGeometry(IndexBuckets: indexBytes / 64, LogMemoryBits: Log2(logBytes), PageBits: pageBits);
    }

    private static long PreviousPowerOfTwo(long value) => 1L << Log2(value);

    private static int Log2(long value) => 63 - long.LeadingZeroCount(value) is var bits ? (int)bits : 0;
}

internal readonly record struct StoreGeometry(long IndexBuckets, int LogMemoryBits, int PageBits)
{
    public long MemoryBytes => (IndexBuckets * 64) + (1L << LogMemoryBits);

    public int PageBytes => 1 << PageBits;
}
