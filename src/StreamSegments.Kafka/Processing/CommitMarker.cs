using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The last record of every transaction on a task's changelog partition: which commit it closes and where the
/// task stood (its clock and the next offset of each input partition). A restore applies a changelog record only
/// when a marker of its incarnation seals its commit (same epoch, sequence at least its own) and resumes the inputs
/// from the newest marker's offsets, so a transaction whose marker never made it is ignored even by a broker that
/// does not isolate transactions (the embedded one does not: see ARCHITECTURE.md).
/// </summary>
/// <param name="Epoch">Random per task incarnation, so two incarnations' commit <paramref name="Sequence"/>s never collide.</param>
/// <param name="Sequence">The commit's number within its incarnation, from 1.</param>
/// <param name="Clock">The task's clock at the commit.</param>
/// <param name="NextOffsets">Next offset to process per input topic (in <see cref="TopicOptions.Inputs"/> order); -1 for none yet.</param>
/// <param name="Policy">
/// <see cref="Core.Policy.SegmentPolicy.Fingerprint"/> of the policy the task's state was published under, 0 when
/// unknown. It travels beside the marker (<see cref="PolicyHeader"/>, the checkpoint cookie), not in its bytes: a
/// worker of an earlier version reading the changelog (a rolling upgrade, a rollback) must still read the marker.
/// </param>
/// <param name="Tables">
/// <see cref="TopicOptions.TablesFingerprint"/> of the current-state tables the task's state has been published to
/// whole, 0 when unknown (an earlier build); beside the marker as the policy is (<see cref="TablesHeader"/>).
/// </param>
public sealed record CommitMarker(long Epoch, long Sequence, long Clock, long[] NextOffsets, ulong Policy = 0, ulong Tables = 0)
{
    /// <summary>Header on every record the worker produces, naming the commit (<c>task:epoch:sequence</c>) it belongs to.</summary>
    public const string Header = "segments-commit";

    /// <summary>Header of a marker record: <see cref="Policy"/>, 8 bytes little-endian.</summary>
    public const string PolicyHeader = "segments-policy";

    /// <summary>Header of a marker record: <see cref="Tables"/>, 8 bytes little-endian.</summary>
    public const string TablesHeader = "segments-tables";

    private const byte FormatVersion = 1;

    // State records are keyed 'B' (buyer), 'P' (part of a large buyer) or 'C' (catalog) + id: a first byte 'M' is a marker.
    private const byte MarkerTag = (byte)'M';

    /// <summary>
    /// The changelog key of this incarnation's markers: <c>M</c> and the epoch. Compaction keeps the newest marker of
    /// every incarnation, which is what a restore needs to tell that incarnation's committed records from its
    /// unfinished ones (an earlier format keyed every marker <c>M</c> alone, and compaction kept one per partition).
    /// </summary>
    public byte[] Key => KeyOf(Epoch);

    public static byte[] KeyOf(long epoch) => Encoding.ASCII.GetBytes($"M{epoch:x16}");

    public static bool IsMarkerKey(ReadOnlySpan<byte> key) => key.Length > 0 && key[0] == MarkerTag;

    /// <summary>The header every output record carries: which commit it belongs to (<c>task:epoch:sequence</c>).</summary>
    public static string CommitId(int task, long epoch, long sequence) => $"{task}:{epoch:x16}:{sequence}";

    /// <summary>Reads the epoch and sequence back from a <see cref="CommitId"/>.</summary>
    public static bool TryParseCommitId(ReadOnlySpan<byte> commitId, out long epoch, out long sequence)
    {
        epoch = 0;
        sequence = 0;
        var first = commitId.IndexOf((byte)':');
        var last = commitId.LastIndexOf((byte)':');
        if (first < 0 || last <= first)
        {
            return false;
        }

        var epochText = commitId[(first + 1)..last];
        var sequenceText = commitId[(last + 1)..];
        if (!Utf8Parser.TryParse(epochText, out ulong rawEpoch, out var epochLength, 'x') || epochLength != epochText.Length
            || !Utf8Parser.TryParse(sequenceText, out sequence, out var sequenceLength) || sequenceLength != sequenceText.Length)
        {
            return false;
        }

        epoch = unchecked((long)rawEpoch);
        return true;
    }

    public byte[] Serialize()
    {
        var bytes = new byte[1 + 8 + 8 + 8 + 4 + (NextOffsets.Length * 8)];
        var span = bytes.AsSpan();
        span[0] = FormatVersion;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], Epoch);
        BinaryPrimitives.WriteInt64LittleEndian(span[9..], Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[17..], Clock);
        BinaryPrimitives.WriteInt32LittleEndian(span[25..], NextOffsets.Length);
        for (var i = 0; i < NextOffsets.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[(29 + (i * 8))..], NextOffsets[i]);
        }

        return bytes;
    }

    public byte[] PolicyBytes() => Bytes(Policy);

    public byte[] TablesBytes() => Bytes(Tables);

    /// <summary>A marker record's marker: its value, and the policy and tables from its headers (0 without them).</summary>
    public static CommitMarker Read(ReadOnlySpan<byte> value, Confluent.Kafka.Headers? headers) =>
        Deserialize(value) with { Policy = HeaderValue(headers, PolicyHeader), Tables = HeaderValue(headers, TablesHeader) };

    private static byte[] Bytes(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    private static ulong HeaderValue(Confluent.Kafka.Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) && bytes.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : 0;

    public static CommitMarker Deserialize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 29 || bytes[0] != FormatVersion)
        {
            throw new InvalidDataException($"Not a commit marker of format {FormatVersion} ({bytes.Length} bytes).");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[25..]);
        if (count < 0 || bytes.Length != 29 + (count * 8))
        {
            throw new InvalidDataException("A commit marker's offsets are truncated.");
        }

        var offsets = new long[count];
        for (var i = 0; i < count; i++)
        {
            offsets[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(29 + (i * 8))..]);
        }

        return new CommitMarker(
            BinaryPrimitives.ReadInt64LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[17..]),
            offsets);
    }
}
