using System.Buffers.Binary;
using System.IO.Hashing;
using FASTER.core;
using StreamSegments.Core;
using StreamSegments.Core.Processing;
using StreamSegments.Core.State;

namespace StreamSegments.Storage;

/// <summary>
/// One task's buyer state in a FASTER KV store on local disk: one record per buyer (the encoded
/// <see cref="BuyerState"/>), plus one small record per fact of the seller catalog. Larger than memory: the
/// budget bounds the index and the in-memory log, the rest lives in the on-disk log. Not thread-safe: one
/// session, used from the task's thread only.
/// </summary>
/// <remarks>
/// Keys are the buyer id's UTF-8 bytes behind a one-byte kind tag, so there are no hash collisions to worry
/// about. A buyer whose encoded state is larger than <see cref="MaxPartBytes"/> (a crawler's months of event ids)
/// is stored as a head record and numbered parts: a FASTER record must fit in one log page, and a changelog
/// record in one Kafka message, and neither may stop a task. Checkpoints carry an opaque cookie (what the caller
/// needs to resume: input position, clock); it is set only while processing is paused, since FASTER reads it
/// when the checkpoint metadata is written.
/// </remarks>
public sealed class FasterBuyerStateStore : IBuyerStateStore, IDisposable
{
    private const byte BuyerKey = (byte)'B';
    private const byte CatalogKey = (byte)'C';
    private const byte PartKey = (byte)'P';
    private const byte CatalogFactHanded = 1;

    // First byte of a head whose state continues in parts (codec format versions are small numbers), followed by
    // the number of parts (4 bytes) and the state's first bytes; part i (from 1) holds the next bytes.
    private const byte PartedHead = 0xFF;
    private const int PartedHeadBytes = 1 + sizeof(int);

    // Each prefetch of a batch reads into a slot of its own: a record already in memory is copied there and
    // dropped, instead of into memory rented from a pool. A pending read completes into its slot (or into rented
    // memory when larger), so slots are reused only by the next batch; a batch larger than the slots rents.
    private const int PrefetchSlots = 1024;
    private const int PrefetchSlotBytes = 512;

    // Beside FASTER's checkpoints: the page size (bits) of the log they describe.
    private const string PageBitsFileName = "page-bits";

    private readonly IDevice logDevice;
    private readonly FasterKV<SpanByte, SpanByte> store;
    private readonly ClientSession<SpanByte, SpanByte, SpanByte, SpanByteAndMemory, Empty, BuyerRecordFunctions> session;
    private readonly BuyerStateCodec codec;
    private readonly SymbolTable sellers;
    private readonly SymbolTable categories;
    private readonly StateStoreOptions options;
    private readonly StoreGeometry geometry;
    private byte[] keyBuffer = GC.AllocateUninitializedArray<byte>(256, pinned: true);
    private readonly byte[] readBuffer = GC.AllocateUninitializedArray<byte>(16 * 1024, pinned: true);
    private byte[] valueBuffer = GC.AllocateUninitializedArray<byte>(16 * 1024, pinned: true);
    private readonly byte[] prefetchBuffer = GC.AllocateUninitializedArray<byte>(PrefetchSlots * PrefetchSlotBytes, pinned: true);
    private int nextPrefetchSlot;
    private readonly Dictionary<byte[], byte[]?> prefetched = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], byte[]?>.AlternateLookup<ReadOnlySpan<byte>> prefetchedById;
    private int pendingPrefetches;
    private byte[] assembly = [];
    private byte[] largeRead = [];
    private byte[] lastLoaded = new byte[64];
    private int lastLoadedLength = -1;
    private int lastLoadedParts;
    private bool disposed;
    private long logBytesAfterCompaction;

    public FasterBuyerStateStore(string directory, StateStoreOptions options, SymbolTable sellers, SymbolTable categories)
    {
        ArgumentNullException.ThrowIfNull(options);
        System.IO.Directory.CreateDirectory(directory);
        Directory = directory;
        this.options = options;
        this.sellers = sellers;
        this.categories = categories;
        codec = new BuyerStateCodec(sellers, categories);
        geometry = options.Geometry();

        // Allocated with half again as slack (BuyerRecordFunctions), a part then takes at most about 40% of a page.
        MaxPartBytes = Math.Min(256 * 1024, (geometry.PageBytes / 4) - PartedHeadBytes);

        logDevice = Devices.CreateLogDevice(Path.Combine(LogDirectory, "hlog"), preallocateFile: false, deleteOnClose: false);
        store = new FasterKV<SpanByte, SpanByte>(
            geometry.IndexBuckets,
            new LogSettings
            {
                LogDevice = logDevice,
                MemorySizeBits = geometry.LogMemoryBits,
                PageSizeBits = geometry.PageBits,
                SegmentSizeBits = options.SegmentSizeBits,
                MutableFraction = options.MutableFraction,
            },
            new CheckpointSettings
            {
                CheckpointDir = Path.Combine(directory, "checkpoints"),

                // FASTER's own pruning deletes the previous index checkpoint as soon as the new index is
                // committed, before the new log checkpoint is: a crash in between leaves a log checkpoint whose
                // index is gone (seen here as a recovered store with no buyers). Pruning is done after a full
                // checkpoint has committed instead (see CheckpointAsync).
                RemoveOutdated = false,
            },
            concurrencyControlMode: ConcurrencyControlMode.None);
        session = store.For(new BuyerRecordFunctions()).NewSession<BuyerRecordFunctions>();
        prefetchedById = prefetched.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public string Directory { get; }

    /// <summary>Largest state payload kept in one record; a larger buyer is split into a head and parts.</summary>
    public int MaxPartBytes { get; }

    /// <summary>Bytes of memory the store may use: index plus in-memory log.</summary>
    public long MemoryBudgetBytes => geometry.MemoryBytes;

    /// <summary>Where FASTER keeps this store's checkpoints, and the page size they were taken with.</summary>
    private string CheckpointDirectory => Path.Combine(Directory, "checkpoints");

    private string PageBitsFile => Path.Combine(CheckpointDirectory, PageBitsFileName);

    private string LogDirectory => Path.Combine(Directory, "log");

    /// <summary>Size of the log from its begin to its tail (live and superseded records, in memory and on disk).</summary>
    public long LogBytes => store.Log.TailAddress - store.Log.BeginAddress;

    /// <summary>
    /// Whether the log has grown enough for a compaction to pay: past <see cref="StateStoreOptions.CompactionLogRatio"/>
    /// times the in-memory log, and by half again what the last compaction left (state larger than that threshold
    /// would otherwise be compacted at every check, for little). A compaction takes the older half, so a caller that
    /// checks after every W bytes written keeps the log near 2W plus a few times the live state. For callers that
    /// write faster than they checkpoint: a buyer with a large record appends all of it at every event once it has
    /// left memory.
    /// </summary>
    public bool CompactionDue =>
        LogBytes >= Math.Max(CompactionThreshold, logBytesAfterCompaction + (Math.Max(CompactionThreshold, logBytesAfterCompaction) / 2));

    private long CompactionThreshold => (long)(options.CompactionLogRatio * (1L << geometry.LogMemoryBits));

    /// <summary>Address just past the newest record of the log: grows by the bytes written.</summary>
    public long TailAddress => store.Log.TailAddress;

    /// <summary>Bytes of the hash index (always in memory).</summary>
    public long IndexBytes => geometry.IndexBuckets * 64;

    /// <summary>Bytes of the log currently held in memory.</summary>
    public long InMemoryLogBytes => store.Log.TailAddress - store.Log.HeadAddress;

    /// <summary>
    /// Told of every record written or deleted, with the record's key (kind tag included) and encoded payload: how
    /// a changelog learns what to publish. Null (the default) costs nothing.
    /// </summary>
    public IStateRecordObserver? Observer { get; set; }

    /// <summary>Number of distinct keys (buyers, parts of large buyers, catalog facts); an O(index) walk, for diagnostics.</summary>
    public long EntryCount => store.EntryCount;

    /// <summary>
    /// Prefetching: <see cref="BeginPrefetch"/>, then <see cref="Prefetch"/> for each buyer about to be loaded, then
    /// <see cref="CompletePrefetch"/>. Reads of records on disk are issued together and awaited once (one round of
    /// parallel I/O instead of one blocking read per load); each record is kept until the next
    /// <see cref="TryLoad"/> of its buyer, and a write or delete of the buyer discards it.
    /// </summary>
    public void BeginPrefetch()
    {
        prefetched.Clear();
        pendingPrefetches = 0;
        nextPrefetchSlot = 0;
    }

    /// <summary>Issues the read of one buyer; a record already in memory needs none and is left alone.</summary>
    public void Prefetch(ReadOnlySpan<byte> buyerId)
    {
        var key = Key(BuyerKey, buyerId, default);
        var output = nextPrefetchSlot < PrefetchSlots
            ? new SpanByteAndMemory(SpanByte.FromFixedSpan(prefetchBuffer.AsSpan(nextPrefetchSlot++ * PrefetchSlotBytes, PrefetchSlotBytes)))
            : default;
        var status = session.Read(ref key, ref output);
        if (status.IsPending)
        {
            pendingPrefetches++;
        }
        else
        {
            output.Memory?.Dispose();
        }
    }

    /// <summary>Waits for the reads issued since <see cref="BeginPrefetch"/> and keeps their records.</summary>
    public void CompletePrefetch()
    {
        if (pendingPrefetches == 0)
        {
            return;
        }

        session.CompletePendingWithOutputs(out var completed, wait: true);
        using (completed)
        {
            while (completed.Next())
            {
                ref var current = ref completed.Current;
                var buyerId = current.Key.AsReadOnlySpan()[1..].ToArray();
                using var memory = current.Output.Memory;
                prefetched[buyerId] = current.Status.Found
                    ? memory is null ? current.Output.SpanByte.AsReadOnlySpan().ToArray() : memory.Memory.Span[..current.Output.Length].ToArray()
                    : null;
            }
        }

        pendingPrefetches = 0;
    }

    public bool TryLoad(ReadOnlySpan<byte> buyerId, BuyerState state)
    {
        if (prefetched.Count > 0 && prefetchedById.Remove(buyerId, out _, out var fetched))
        {
            if (fetched is null)
            {
                RememberLoaded(buyerId, parts: 0);
                return false;
            }

            DecodeHead(buyerId, BuyerRecordFunctions.State(fetched), state);
            return true;
        }

        var key = Key(BuyerKey, buyerId, default);
        if (!TryRead(ref key, out var head))
        {
            RememberLoaded(buyerId, parts: 0);
            return false;
        }

        DecodeHead(buyerId, head, state);
        return true;
    }

    /// <summary>Decodes a buyer from its head record, reading its parts first when it has them.</summary>
    private void DecodeHead(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> head, BuyerState state)
    {
        RememberLoaded(buyerId, PartsOf(head));
        codec.Decode(buyerId, Whole(buyerId, head), state);
    }

    /// <summary>A buyer's whole encoded state from its head record: the head itself, or head and parts assembled.</summary>
    private ReadOnlySpan<byte> Whole(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> head)
    {
        var parts = PartsOf(head);
        return parts == 0 ? head : Assemble(buyerId, head, parts);
    }

    private static int PartsOf(ReadOnlySpan<byte> head) =>
        head.Length >= PartedHeadBytes && head[0] == PartedHead ? BinaryPrimitives.ReadInt32LittleEndian(head[1..]) : 0;

    /// <summary>The whole encoded state of a parted buyer: the head's bytes, then each part's, in the assembly buffer.</summary>
    private ReadOnlySpan<byte> Assemble(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> head, int parts)
    {
        var length = head.Length - PartedHeadBytes;
        EnsureCapacity(ref assembly, length);
        head[PartedHeadBytes..].CopyTo(assembly);
        for (var part = 1; part <= parts; part++)
        {
            var key = PartKeyOf(buyerId, part);
            if (!TryRead(ref key, out var payload))
            {
                throw new InvalidDataException(
                    $"Buyer '{System.Text.Encoding.UTF8.GetString(buyerId)}' has {parts} parts but part {part} is missing.");
            }

            EnsureCapacity(ref assembly, length + payload.Length);
            payload.CopyTo(assembly.AsSpan(length));
            length += payload.Length;
        }

        return assembly.AsSpan(0, length);
    }

    /// <summary>
    /// Reads a record's payload, waiting for the disk if it must; the span is valid until the next read. A payload
    /// larger than the read buffer arrives in pooled memory and is copied to a buffer kept for such records.
    /// </summary>
    private bool TryRead(ref SpanByte key, out ReadOnlySpan<byte> payload)
    {
        var output = new SpanByteAndMemory(SpanByte.FromFixedSpan(readBuffer));
        var status = session.Read(ref key, ref output);
        if (status.IsPending)
        {
            session.CompletePendingWithOutputs(out var completed, wait: true);
            using (completed)
            {
                if (!completed.Next())
                {
                    throw new InvalidOperationException("FASTER completed no pending read.");
                }

                (status, output) = (completed.Current.Status, completed.Current.Output);
            }
        }

        using var memory = output.Memory;
        if (!status.Found)
        {
            payload = default;
            return false;
        }

        if (memory is null)
        {
            payload = BuyerRecordFunctions.State(output.SpanByte.AsReadOnlySpan());
            return true;
        }

        var value = BuyerRecordFunctions.State(memory.Memory.Span[..output.Length]);
        EnsureCapacity(ref largeRead, value.Length);
        value.CopyTo(largeRead);
        payload = largeRead.AsSpan(0, value.Length);
        return true;
    }

    /// <summary>
    /// Remembers how many parts the buyer just loaded has, so that the write or delete which follows (the task
    /// always loads a buyer before either) knows which parts to remove without reading the head again.
    /// </summary>
    private void RememberLoaded(ReadOnlySpan<byte> buyerId, int parts)
    {
        EnsureCapacity(ref lastLoaded, buyerId.Length);
        buyerId.CopyTo(lastLoaded);
        lastLoadedLength = buyerId.Length;
        lastLoadedParts = parts;
    }

    /// <summary>How many parts the stored version of a buyer has (0 when it has none or is absent).</summary>
    private int StoredParts(ReadOnlySpan<byte> buyerId)
    {
        if (lastLoadedLength >= 0 && buyerId.SequenceEqual(lastLoaded.AsSpan(0, lastLoadedLength)))
        {
            return lastLoadedParts;
        }

        var key = Key(BuyerKey, buyerId, default);
        return TryRead(ref key, out var head) ? PartsOf(head) : 0;
    }

    public void Save(BuyerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var encoded = codec.Encode(state);
        if (prefetched.Count > 0)
        {
            prefetchedById.Remove(state.BuyerId);
        }

        var storedParts = StoredParts(state.BuyerId);
        var parts = encoded.Length <= MaxPartBytes ? 0 : (encoded.Length - 1) / MaxPartBytes;
        var key = Key(BuyerKey, state.BuyerId, default);
        if (parts == 0)
        {
            Upsert(ref key, encoded);
        }
        else
        {
            var first = encoded[..MaxPartBytes];
            EnsureCapacity(ref assembly, PartedHeadBytes + first.Length);
            assembly[0] = PartedHead;
            BinaryPrimitives.WriteInt32LittleEndian(assembly.AsSpan(1), parts);
            first.CopyTo(assembly.AsSpan(PartedHeadBytes));
            Upsert(ref key, assembly.AsSpan(0, PartedHeadBytes + first.Length));
            for (var part = 1; part <= parts; part++)
            {
                var partKey = PartKeyOf(state.BuyerId, part);
                var start = part * MaxPartBytes;
                Upsert(ref partKey, encoded.Slice(start, Math.Min(MaxPartBytes, encoded.Length - start)));
            }
        }

        DeleteParts(state.BuyerId, from: parts + 1, through: storedParts);
        RememberLoaded(state.BuyerId, parts);
    }

    public void Delete(ReadOnlySpan<byte> buyerId)
    {
        if (prefetched.Count > 0)
        {
            prefetchedById.Remove(buyerId);
        }

        var storedParts = StoredParts(buyerId);
        var key = Key(BuyerKey, buyerId, default);
        session.Delete(ref key);
        Observer?.Deleted(key.AsReadOnlySpan());
        DeleteParts(buyerId, from: 1, through: storedParts);
        RememberLoaded(buyerId, parts: 0);
    }

    private void Upsert(ref SpanByte key, ReadOnlySpan<byte> payload)
    {
        var value = Framed(payload);
        session.Upsert(ref key, ref value);
        Observer?.Written(key.AsReadOnlySpan(), payload);
    }

    private void DeleteParts(ReadOnlySpan<byte> buyerId, int from, int through)
    {
        for (var part = from; part <= through; part++)
        {
            var key = PartKeyOf(buyerId, part);
            session.Delete(ref key);
            Observer?.Deleted(key.AsReadOnlySpan());
        }
    }

    public unsafe void SaveCatalogEntry(int seller, int category)
    {
        var key = Key(CatalogKey, sellers.NameOf(seller), categories.NameOf(category));

        // One payload byte, in the same framing as buyers: the fact was handed to the task's sink when it was
        // learned. Entries of earlier builds have none, and their facts were never published (RestoreInto).
        var framed = stackalloc byte[BuyerRecordFunctions.HeaderBytes + 1];
        BinaryPrimitives.WriteInt32LittleEndian(new Span<byte>(framed, BuyerRecordFunctions.HeaderBytes), 1);
        framed[BuyerRecordFunctions.HeaderBytes] = CatalogFactHanded;
        var value = SpanByte.FromPointer(framed, BuyerRecordFunctions.HeaderBytes + 1);
        session.Upsert(ref key, ref value);
        Observer?.Written(key.AsReadOnlySpan(), new ReadOnlySpan<byte>(framed + BuyerRecordFunctions.HeaderBytes, 1));
    }

    /// <summary>
    /// Writes a record exactly as an <see cref="Observer"/> saw it (<paramref name="payload"/> null deletes it):
    /// how a task's state is rebuilt from its changelog. The observer is not told.
    /// </summary>
    public void ApplyRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, bool delete)
    {
        if (key.IsEmpty || (key[0] != BuyerKey && key[0] != CatalogKey && key[0] != PartKey))
        {
            throw new InvalidDataException($"Not a state record key (kind {(key.IsEmpty ? "none" : key[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}).");
        }

        if (prefetched.Count > 0)
        {
            prefetched.Clear();
        }

        lastLoadedLength = -1;
        EnsureKeyBuffer(key.Length);
        key.CopyTo(keyBuffer);
        var faster = SpanByte.FromFixedSpan(keyBuffer.AsSpan(0, key.Length));
        if (delete)
        {
            session.Delete(ref faster);
            return;
        }

        var value = Framed(payload);
        session.Upsert(ref faster, ref value);
    }

    /// <summary>The stored form of a payload, <c>[length][payload][slack]</c>, in the reused value buffer.</summary>
    private SpanByte Framed(ReadOnlySpan<byte> payload)
    {
        var allocated = BuyerRecordFunctions.AllocatedLength(payload.Length);
        if (valueBuffer.Length < allocated)
        {
            valueBuffer = GC.AllocateUninitializedArray<byte>(Math.Max(allocated, valueBuffer.Length * 2), pinned: true);
        }

        BinaryPrimitives.WriteInt32LittleEndian(valueBuffer, payload.Length);
        payload.CopyTo(valueBuffer.AsSpan(BuyerRecordFunctions.HeaderBytes));
        valueBuffer.AsSpan(BuyerRecordFunctions.HeaderBytes + payload.Length, allocated - BuyerRecordFunctions.HeaderBytes - payload.Length).Clear();
        return SpanByte.FromFixedSpan(valueBuffer.AsSpan(0, allocated));
    }

    private void EnsureKeyBuffer(int length)
    {
        if (keyBuffer.Length < length)
        {
            keyBuffer = GC.AllocateUninitializedArray<byte>(Math.Max(length, keyBuffer.Length * 2), pinned: true);
        }
    }

    private static void EnsureCapacity(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            Array.Resize(ref buffer, Math.Max(length, buffer.Length * 2));
        }
    }

    /// <summary>Key of a parted buyer's part: the kind tag, the part number (big-endian), the buyer id.</summary>
    private SpanByte PartKeyOf(ReadOnlySpan<byte> buyerId, int part)
    {
        var length = 1 + sizeof(int) + buyerId.Length;
        EnsureKeyBuffer(length);
        keyBuffer[0] = PartKey;
        BinaryPrimitives.WriteInt32BigEndian(keyBuffer.AsSpan(1), part);
        buyerId.CopyTo(keyBuffer.AsSpan(1 + sizeof(int)));
        return SpanByte.FromFixedSpan(keyBuffer.AsSpan(0, length));
    }

    /// <summary>Visits every live record (newest version of each key, deletions excluded), buyers and catalog facts.</summary>
    /// <remarks>
    /// Not FASTER's own Iterate(): in 2.6.5 it copies serialized SpanByte keys by value when a key's record is
    /// not the head of its hash chain, which hands back corrupted keys (seen here as buyer ids with trailing
    /// NULs). Instead, two sequential scans of the log: the first finds the newest address of every key (by a
    /// 128-bit hash of the key), the second visits exactly the records found at those addresses.
    /// </remarks>
    public void Scan(IStateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        session.CompletePending(wait: true);
        var begin = store.Log.BeginAddress;
        var end = store.Log.TailAddress;
        var newest = new Dictionary<UInt128, long>();
        using (var scan = store.Log.Scan(begin, end))
        {
            while (scan.GetNext(out _))
            {
                newest[XxHash128.HashToUInt128(scan.GetKey().AsReadOnlySpan())] = scan.CurrentAddress;
            }
        }

        var parted = new List<byte[]>();
        using (var scan = store.Log.Scan(begin, end))
        {
            while (scan.GetNext(out var info))
            {
                var key = scan.GetKey().AsReadOnlySpan();
                if (!info.Tombstone && newest[XxHash128.HashToUInt128(key)] == scan.CurrentAddress)
                {
                    var value = scan.GetValue().AsReadOnlySpan();
                    if (key[0] == BuyerKey && PartsOf(BuyerRecordFunctions.State(value)) > 0)
                    {
                        // Its parts are read after the scan: a read may have to wait for the disk.
                        parted.Add(key[1..].ToArray());
                    }
                    else
                    {
                        Dispatch(visitor, key, value);
                    }
                }
            }
        }

        foreach (var buyerId in parted)
        {
            if (ReadWhole(buyerId) is { } state)
            {
                visitor.Buyer(buyerId, state);
            }
        }
    }

    /// <summary>A buyer's whole encoded state, parts assembled; null when absent.</summary>
    private byte[]? ReadWhole(ReadOnlySpan<byte> buyerId)
    {
        var key = Key(BuyerKey, buyerId, default);
        return TryRead(ref key, out var head) ? Whole(buyerId, head).ToArray() : null;
    }

    /// <summary>
    /// Restores a task from the store: registers every buyer's timer and relearns the seller catalog.
    /// Call once after <see cref="RecoverAsync"/>, before any event is applied. <paramref name="onBuyer"/> sees each
    /// restored buyer (e.g. to count them) in the same scan; <paramref name="unpublishedFacts"/> gets the catalog facts
    /// an earlier build stored without handing them to its sink (<see cref="SegmentTask.HandOverLearned"/>).
    /// </summary>
    public void RestoreInto(SegmentTask task, Action<BuyerState>? onBuyer = null, List<(int Seller, int Category)>? unpublishedFacts = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        Scan(new RestoreVisitor(task, codec, new BuyerState(), onBuyer, unpublishedFacts));
    }

    /// <summary>Decodes every buyer into <paramref name="scratch"/> and hands it to <paramref name="onBuyer"/>.</summary>
    public void ForEachBuyer(BuyerState scratch, Action<BuyerState> onBuyer) => Scan(new BuyerVisitor(codec, scratch, onBuyer));

    /// <summary>
    /// Makes everything written so far durable with <paramref name="cookie"/> (what the caller needs to resume),
    /// compacting the log first when it has grown well past the live state. Call only while processing is paused.
    /// </summary>
    public async Task CheckpointAsync(byte[] cookie, CancellationToken cancellationToken)
    {
        // A stop before compacting leaves the previous checkpoint as it was; once started, a checkpoint runs to
        // its end: abandoning FASTER's checkpoint half way and then disposing the store under it is the order
        // faster-notes.md warns against. Checkpoints take seconds at most.
        cancellationToken.ThrowIfCancellationRequested();
        session.CompletePending(wait: true);
        CompactIfNeeded();

        // FASTER's checkpoint does not say which page size laid its log out, and recovering it with smaller pages
        // loses from scans every record that straddles a new page boundary (RecoverAsync refuses that instead).
        System.IO.Directory.CreateDirectory(CheckpointDirectory);
        var pageBitsFile = PageBitsFile;
        using (var file = new FileStream(pageBitsFile + ".tmp", FileMode.Create, FileAccess.Write))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(geometry.PageBits.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            file.Flush(flushToDisk: true);
        }

        File.Move(pageBitsFile + ".tmp", pageBitsFile, overwrite: true);
        store.CommitCookie = cookie;

        // Fold-over, not snapshot: see ARCHITECTURE.md ("Three FASTER 2.6.5 traps") for what snapshots did here.
        var (success, token) = await store.TakeFullCheckpointAsync(CheckpointType.FoldOver, cancellationToken: CancellationToken.None);
        if (!success)
        {
            throw new InvalidOperationException("A FASTER checkpoint was already in progress.");
        }

        if (options.RemoveOutdatedCheckpoints)
        {
            RemoveCheckpointsOtherThan(token);
        }

        CheckpointManifest.Write(CheckpointDirectory, LogDirectory, token, store.Log.BeginAddress >> options.SegmentSizeBits);
    }

    /// <summary>
    /// Compacts the log when it is due, as <see cref="CheckpointAsync"/> does, and deletes the log files wholly
    /// before its begin address: for a store that is never checkpointed (a replay without a state directory), whose
    /// log would otherwise keep every version of every record. Call only while processing is paused.
    /// </summary>
    public void CompactWithoutCheckpoint()
    {
        session.CompletePending(wait: true);
        CompactIfNeeded();
        store.Log.Truncate();
    }

    /// <summary>Once a full checkpoint has committed, no other (older, or half-written by a crash) is needed.</summary>
    private void RemoveCheckpointsOtherThan(Guid token)
    {
        foreach (var kind in CheckpointManifest.Kinds)
        {
            var root = Path.Combine(CheckpointDirectory, kind);
            if (!System.IO.Directory.Exists(root))
            {
                continue;
            }

            foreach (var checkpoint in System.IO.Directory.EnumerateDirectories(root))
            {
                if (!string.Equals(Path.GetFileName(checkpoint), token.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    System.IO.Directory.Delete(checkpoint, recursive: true);
                }
            }
        }
    }

    /// <summary>
    /// Recovers the newest checkpoint, if there is one, and returns its cookie; null for a fresh store.
    /// Deliberately not TryRecoverLatest, which swallows every error and silently starts empty.
    /// </summary>
    public async Task<byte[]?> RecoverAsync(CancellationToken cancellationToken)
    {
        // The first log checkpoint listed, the newest, is the one FASTER recovers.
        var recovering = System.IO.Directory.Exists(CheckpointDirectory) ? store.CheckpointManager.GetLogCheckpointTokens().FirstOrDefault() : Guid.Empty;
        if (recovering == Guid.Empty)
        {
            return null;
        }

        // A setup refusal: the worker rebuilds the task from its changelog instead, a replay stops. Checkpoints that do
        // not say their page size (taken by a build before the file, or the file lost) are refused too: their budget
        // may have been another.
        var pageBitsFile = PageBitsFile;
        if (!File.Exists(pageBitsFile)
            || !int.TryParse(File.ReadAllText(pageBitsFile), System.Globalization.CultureInfo.InvariantCulture, out var pageBits))
        {
            throw new SetupException(
                $"The checkpoints in {Directory} do not say which log page size they were taken with (an earlier version took them, or " +
                $"{PageBitsFileName} is lost): FASTER could recover them with records missing. Use a fresh state directory.");
        }

        if (pageBits != geometry.PageBits)
        {
            throw new SetupException(
                $"The checkpoints in {Directory} were taken with {1L << pageBits}-byte log pages and this store has {geometry.PageBytes}-byte pages " +
                "(State:MemoryBudgetBytes changed): FASTER would recover them with records missing. Use the budget they were taken with, or a fresh state directory.");
        }

        if (CheckpointManifest.Damage(CheckpointDirectory, LogDirectory, recovering) is { } damage)
        {
            throw new SetupException(
                $"The checkpoint in {Directory} is damaged ({damage}): FASTER would recover it with buyers missing or wrong. " +
                "The worker rebuilds the task from its changelog; a replay needs a fresh state directory.");
        }

        await store.RecoverAsync(cancellationToken: cancellationToken);

        // The recovered log is what its last compaction left as far as CompactionDue is concerned: a resumed replay
        // whose log is past the threshold would otherwise compact and checkpoint after its first batch.
        logBytesAfterCompaction = LogBytes;
        return store.RecoveredCommitCookie;
    }

    /// <summary>Deletes a task's state directory (a task that must rebuild from scratch).</summary>
    public static void DeleteDirectory(string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        session.Dispose();
        store.Dispose();
        logDevice.Dispose();
    }

    private void CompactIfNeeded()
    {
        var log = store.Log;
        if (LogBytes < CompactionThreshold)
        {
            return;
        }

        // Lookup compaction keeps only records that are still the newest version of their key; superseded
        // versions and deleted buyers are dropped. Compacting the older half keeps the cost bounded per round.
        // The new begin address must be a record boundary, or every later scan reads garbage: records never
        // span pages, so a page start always is one.
        var until = Math.Min(log.SafeReadOnlyAddress, log.BeginAddress + ((log.TailAddress - log.BeginAddress) / 2));
        until &= ~((long)geometry.PageBytes - 1);
        if (until > log.BeginAddress)
        {
            session.Compact(until, CompactionType.Lookup);
        }

        logBytesAfterCompaction = LogBytes;
    }

    private SpanByte Key(byte kind, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var length = 1 + first.Length + (second.IsEmpty ? 0 : 4 + second.Length);
        EnsureKeyBuffer(length);

        keyBuffer[0] = kind;
        if (second.IsEmpty)
        {
            first.CopyTo(keyBuffer.AsSpan(1));
        }
        else
        {
            // Length-prefix the first part so that ("ab", "c") and ("a", "bc") are different keys.
            BinaryPrimitives.WriteInt32LittleEndian(keyBuffer.AsSpan(1), first.Length);
            first.CopyTo(keyBuffer.AsSpan(5));
            second.CopyTo(keyBuffer.AsSpan(5 + first.Length));
        }

        return SpanByte.FromFixedSpan(keyBuffer.AsSpan(0, length));
    }

    internal static void Dispatch(IStateVisitor visitor, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        switch (key[0])
        {
            case BuyerKey:
                visitor.Buyer(key[1..], BuyerRecordFunctions.State(value));
                break;
            case PartKey:
                // Read with their head.
                break;
            case CatalogKey:
                var sellerLength = BinaryPrimitives.ReadInt32LittleEndian(key[1..]);
                var payload = BuyerRecordFunctions.State(value);
                visitor.CatalogEntry(key.Slice(5, sellerLength), key[(5 + sellerLength)..], handed: payload.Length > 0 && payload[0] == CatalogFactHanded);
                break;
            default:
                throw new InvalidDataException($"Unknown state record kind {key[0]}.");
        }
    }

    private sealed class RestoreVisitor(
        SegmentTask task, BuyerStateCodec codec, BuyerState scratch, Action<BuyerState>? onBuyer, List<(int Seller, int Category)>? unpublished) : IStateVisitor
    {
        public void Buyer(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> state)
        {
            codec.Decode(buyerId, state, scratch);
            task.RestoreTimer(scratch);
            onBuyer?.Invoke(scratch);
        }

        public void CatalogEntry(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, bool handed)
        {
            var fact = (task.Sellers.Intern(sellerId), task.Categories.Intern(categoryId));
            task.Catalog.Learn(fact.Item1, fact.Item2);
            if (!handed)
            {
                unpublished?.Add(fact);
            }
        }
    }

    private sealed class BuyerVisitor(BuyerStateCodec codec, BuyerState scratch, Action<BuyerState> onBuyer) : IStateVisitor
    {
        public void Buyer(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> state)
        {
            codec.Decode(buyerId, state, scratch);
            onBuyer(scratch);
        }

        public void CatalogEntry(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, bool handed)
        {
        }
    }
}

/// <summary>Sees every write of a state store as it happens (see <see cref="FasterBuyerStateStore.Observer"/>).</summary>
public interface IStateRecordObserver
{
    /// <summary>A record was written; both spans are only valid during the call.</summary>
    void Written(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload);

    void Deleted(ReadOnlySpan<byte> key);
}

/// <summary>Receives the live records of a state store during a scan.</summary>
public interface IStateVisitor
{
    void Buyer(ReadOnlySpan<byte> buyerId, ReadOnlySpan<byte> state);

    /// <summary>A fact of cats(s); <paramref name="handed"/> when it was handed to a sink as it was learned (not by earlier builds).</summary>
    void CatalogEntry(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, bool handed);
}
