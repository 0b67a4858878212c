using System.Buffers.Binary;
using FASTER.core;

namespace StreamSegments.Storage;

/// <summary>
/// FASTER callbacks for buyer records stored with slack: a value is <c>[payload length][payload][slack]</c>.
/// A buyer's record grows a little with almost every event (an order, a seen event id); without slack each
/// of those writes would copy the record to the log tail (read-copy-update) and grow the log by a whole
/// record. With it, most updates of records still in the mutable region happen in place.
/// </summary>
internal sealed class BuyerRecordFunctions : SpanByteFunctions<Empty>
{
    public const int HeaderBytes = sizeof(int);

    /// <summary>Allocated payload for a record whose encoded state is <paramref name="stateBytes"/> long.</summary>
    public static int AllocatedLength(int stateBytes)
    {
        var needed = HeaderBytes + stateBytes;
        return (needed + (needed / 2) + 32 + 7) & ~7;
    }

    /// <summary>The encoded state inside a stored value (without header and slack).</summary>
    public static ReadOnlySpan<byte> State(ReadOnlySpan<byte> value) =>
        value.Slice(HeaderBytes, BinaryPrimitives.ReadInt32LittleEndian(value));

    public override bool ConcurrentWriter(ref SpanByte key, ref SpanByte input, ref SpanByte src, ref SpanByte dst, ref SpanByteAndMemory output, ref UpsertInfo upsertInfo)
    {
        var used = HeaderBytes + BinaryPrimitives.ReadInt32LittleEndian(src.AsReadOnlySpan());
        if (dst.Length < used)
        {
            return false;
        }

        // Keep the destination's allocated length: its slack is what the next update grows into.
        src.AsReadOnlySpan()[..used].CopyTo(dst.AsSpan());
        return true;
    }
}
