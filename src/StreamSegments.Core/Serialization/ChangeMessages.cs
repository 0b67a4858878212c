using System.IO.Hashing;
using System.Text.Json;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Time;

namespace StreamSegments.Core.Serialization;

/// <summary>
/// The JSON form of the change messages (schemas/outputs), shared by the replay files and the Kafka topics so
/// that both carry byte-identical values. Event ids are deterministic: a re-run or a replay of the same input
/// gives the same id, which is what lets consumers de-duplicate across restarts.
/// </summary>
public static class ChangeMessages
{
    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("eventId");
    private static readonly JsonEncodedText SellerId = JsonEncodedText.Encode("sellerId");
    private static readonly JsonEncodedText BuyerId = JsonEncodedText.Encode("buyerId");
    private static readonly JsonEncodedText CategoryId = JsonEncodedText.Encode("categoryId");
    private static readonly JsonEncodedText From = JsonEncodedText.Encode("from");
    private static readonly JsonEncodedText To = JsonEncodedText.Encode("to");
    private static readonly JsonEncodedText Change = JsonEncodedText.Encode("change");
    private static readonly JsonEncodedText EffectiveAt = JsonEncodedText.Encode("effectiveAt");
    private static readonly JsonEncodedText Cause = JsonEncodedText.Encode("cause");
    private static readonly JsonEncodedText Rfm = JsonEncodedText.Encode("rfm");
    private static readonly JsonEncodedText Orders = JsonEncodedText.Encode("orders");
    private static readonly JsonEncodedText Amount = JsonEncodedText.Encode("amount");
    private static readonly JsonEncodedText LastOrderAt = JsonEncodedText.Encode("lastOrderAt");
    private static readonly JsonEncodedText LastOrderEverAt = JsonEncodedText.Encode("lastOrderEverAt");
    private static readonly JsonEncodedText LearnedAt = JsonEncodedText.Encode("learnedAt");
    private static readonly JsonEncodedText Segment = JsonEncodedText.Encode("segment");
    private static readonly JsonEncodedText Entered = JsonEncodedText.Encode("entered");
    private static readonly JsonEncodedText Left = JsonEncodedText.Encode("left");

    public static void WriteSegmentChange(Utf8JsonWriter writer, in SegmentChange change)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> id = stackalloc byte[32];
        Span<byte> time = stackalloc byte[EventTime.FormattedLength];

        writer.WriteStartObject();
        // A restatement is not the change it restates: another id, even at the instant of that change.
        writer.WriteString(EventId, ChangeId(id, change.Cause == ChangeCause.Restated ? (byte)'R' : (byte)'S', change.SellerId, change.BuyerId, change.EffectiveAt, (byte)change.From, (byte)change.To));
        writer.WriteString(SellerId, change.SellerId);
        writer.WriteString(BuyerId, change.BuyerId);
        WriteSegmentOrNull(writer, From, change.From);
        WriteSegmentOrNull(writer, To, change.To);
        writer.WriteString(EffectiveAt, time[..EventTime.Format(change.EffectiveAt, time)]);
        writer.WriteString(Cause, CauseName(change.Cause));
        WriteRfm(writer, change.Measures.Rfm);
        writer.WriteNumber(Orders, change.Measures.Orders);
        writer.WriteNumber(Amount, change.Measures.Amount);
        WriteInstantOrNull(writer, LastOrderAt, change.Measures.LastOrder, time);
        WriteInstantOrNull(writer, LastOrderEverAt, change.Measures.LastOrderEver, time);
        writer.WriteEndObject();
    }

    private static void WriteInstantOrNull(Utf8JsonWriter writer, JsonEncodedText name, long instant, Span<byte> buffer)
    {
        if (instant == EventTime.None)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, buffer[..EventTime.Format(instant, buffer)]);
        }
    }

    public static void WriteCategoryInterestChange(Utf8JsonWriter writer, in CategoryInterestChange change)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> id = stackalloc byte[32];
        Span<byte> time = stackalloc byte[EventTime.FormattedLength];

        writer.WriteStartObject();
        writer.WriteString(EventId, ChangeId(id, change.Cause == ChangeCause.Restated ? (byte)'I' : (byte)'C', change.CategoryId, change.BuyerId, change.EffectiveAt, change.Entered ? (byte)1 : (byte)0, 0));
        writer.WriteString(CategoryId, change.CategoryId);
        writer.WriteString(BuyerId, change.BuyerId);
        writer.WriteString(Change, change.Entered ? Entered : Left);
        writer.WriteString(EffectiveAt, time[..EventTime.Format(change.EffectiveAt, time)]);
        writer.WriteString(Cause, CauseName(change.Cause));
        writer.WriteEndObject();
    }

    /// <summary>
    /// A fact of cats(s). Its id names the fact alone, so the same fact learned by several tasks (from events of
    /// several partitions) has one id.
    /// </summary>
    public static void WriteSellerCategory(Utf8JsonWriter writer, ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, long learnedAt)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> id = stackalloc byte[32];
        Span<byte> time = stackalloc byte[EventTime.FormattedLength];

        writer.WriteStartObject();
        writer.WriteString(EventId, ChangeId(id, (byte)'K', sellerId, categoryId, 0, 0, 0));
        writer.WriteString(SellerId, sellerId);
        writer.WriteString(CategoryId, categoryId);
        writer.WriteString(LearnedAt, time[..EventTime.Format(learnedAt, time)]);
        writer.WriteEndObject();
    }

    /// <summary>
    /// The key of a record on a compacted topic, a JSON array of the two ids it is about: <c>["sellerId","categoryId"]</c>
    /// for a cats(s) fact, <c>["sellerId","buyerId"]</c> for a pair's current segment, <c>["categoryId","buyerId"]</c> for a
    /// current category interest. Unambiguous for any ids, so that compaction keeps one record per subject.
    /// </summary>
    public static void WriteSubjectKey(Utf8JsonWriter writer, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartArray();
        writer.WriteStringValue(first);
        writer.WriteStringValue(second);
        writer.WriteEndArray();
    }

    public static void WriteSnapshotRow(Utf8JsonWriter writer, ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> buyerId, Segment segment, RfmScore rfm)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString(SellerId, sellerId);
        writer.WriteString(BuyerId, buyerId);
        writer.WriteString(Segment, segment.ToUtf8());
        WriteRfm(writer, rfm);
        writer.WriteEndObject();
    }

    public static ReadOnlySpan<byte> CauseName(ChangeCause cause) => cause switch
    {
        ChangeCause.Event => "event"u8,
        ChangeCause.WindowExit => "window-exit"u8,
        ChangeCause.Recency => "recency"u8,
        ChangeCause.PolicyChange => "policy-change"u8,
        ChangeCause.Restated => "restated"u8,
        _ => "sleeping-horizon"u8,
    };

    private static void WriteSegmentOrNull(Utf8JsonWriter writer, JsonEncodedText name, Segment segment)
    {
        if (segment == Rules.Segment.None)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, segment.ToUtf8());
        }
    }

    private static void WriteRfm(Utf8JsonWriter writer, RfmScore rfm)
    {
        if (!rfm.IsDefined)
        {
            writer.WriteNull(Rfm);
            return;
        }

        Span<byte> code = stackalloc byte[6];
        rfm.Format(code);
        writer.WriteString(Rfm, code);
    }

    /// <summary>128-bit hash of what identifies a change, as 32 lowercase hex digits.</summary>
    private static ReadOnlySpan<byte> ChangeId(
        Span<byte> destination, byte kind, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> buyerId, long effectiveAt, byte a, byte b)
    {
        const int HeaderLength = 15;
        var length = HeaderLength + subject.Length + buyerId.Length;
        byte[]? rented = null;
        var input = length <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length));
        input[0] = kind;
        input[1] = a;
        input[2] = b;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(input[3..], effectiveAt);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(input[11..], subject.Length);
        subject.CopyTo(input[HeaderLength..]);
        buyerId.CopyTo(input[(HeaderLength + subject.Length)..]);

        Span<byte> digest = stackalloc byte[16];
        XxHash128.Hash(input[..length], digest);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        for (var i = 0; i < 16; i++)
        {
            destination[2 * i] = Hex(digest[i] >> 4);
            destination[(2 * i) + 1] = Hex(digest[i] & 0xF);
        }

        return destination;
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
