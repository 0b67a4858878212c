using System.Buffers.Binary;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// What a task's FASTER checkpoint carries beside the state (its cookie): the changelog offset the state reflects,
/// the wall-clock time it was taken at, and the commit marker, policy and tables included, that a restore resumes from.
/// </summary>
/// <remarks>
/// Format 3 starts with -3, then the offset, the time, the policy, the tables and the marker. Format 2 started with
/// -2 and had no tables (read as unknown). Format 1, written before checkpoints carried their time, started with the
/// offset (never negative) and had neither time nor policy: its age is unknown, so a restore does not trust it. A
/// build that knows only older formats reads a newer cookie as format 1: its marker does not parse (or, if it ever
/// did, its offset is negative and its age unknown), so that build logs the checkpoint as unusable and restores from
/// the changelog.
/// </remarks>
internal sealed record TaskCheckpointCookie(long ChangelogOffset, long? TakenAtMs, CommitMarker Marker)
{
    private const long Format2 = -2;
    private const int Format2Header = 32;
    private const long Format3 = -3;
    private const int Format3Header = 40;

    public byte[] Write()
    {
        if (TakenAtMs is not { } takenAt)
        {
            throw new InvalidOperationException("A checkpoint cookie is written with the time it is taken at.");
        }

        var marker = Marker.Serialize(); // without the policy and tables, which go beside it
        var cookie = new byte[Format3Header + marker.Length];
        BinaryPrimitives.WriteInt64LittleEndian(cookie, Format3);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(8), ChangelogOffset);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(16), takenAt);
        BinaryPrimitives.WriteUInt64LittleEndian(cookie.AsSpan(24), Marker.Policy);
        BinaryPrimitives.WriteUInt64LittleEndian(cookie.AsSpan(32), Marker.Tables);
        marker.CopyTo(cookie, Format3Header);
        return cookie;
    }

    /// <summary>The cookie as builds before format 2 wrote it (for tests of what they left behind).</summary>
    public byte[] WriteFormat1()
    {
        var marker = Marker.Serialize();
        var cookie = new byte[8 + marker.Length];
        BinaryPrimitives.WriteInt64LittleEndian(cookie, ChangelogOffset);
        marker.CopyTo(cookie, 8);
        return cookie;
    }

    /// <summary>The cookie as builds before format 3 wrote it (for tests of what they left behind).</summary>
    public byte[] WriteFormat2()
    {
        var marker = Marker.Serialize();
        var cookie = new byte[Format2Header + marker.Length];
        BinaryPrimitives.WriteInt64LittleEndian(cookie, Format2);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(8), ChangelogOffset);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(16), TakenAtMs ?? 0);
        BinaryPrimitives.WriteUInt64LittleEndian(cookie.AsSpan(24), Marker.Policy);
        marker.CopyTo(cookie, Format2Header);
        return cookie;
    }

    public static TaskCheckpointCookie Read(ReadOnlySpan<byte> cookie)
    {
        var format = BinaryPrimitives.ReadInt64LittleEndian(cookie);
        if (format == Format3)
        {
            return new(
                BinaryPrimitives.ReadInt64LittleEndian(cookie[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(cookie[16..]),
                CommitMarker.Deserialize(cookie[Format3Header..]) with
                {
                    Policy = BinaryPrimitives.ReadUInt64LittleEndian(cookie[24..]),
                    Tables = BinaryPrimitives.ReadUInt64LittleEndian(cookie[32..]),
                });
        }

        if (format != Format2)
        {
            return new(BinaryPrimitives.ReadInt64LittleEndian(cookie), null, CommitMarker.Deserialize(cookie[8..]));
        }

        return new(
            BinaryPrimitives.ReadInt64LittleEndian(cookie[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(cookie[16..]),
            CommitMarker.Deserialize(cookie[Format2Header..]) with { Policy = BinaryPrimitives.ReadUInt64LittleEndian(cookie[24..]) });
    }
}
