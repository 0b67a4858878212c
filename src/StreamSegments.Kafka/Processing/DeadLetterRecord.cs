using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamSegments.Core.Events;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// What goes to <c>segments.dead-letter</c> for a rejected input record: its key and value as they came, its headers
/// while they fit, the reason and the source's topic, partition and offset in headers, all within a size limit.
/// </summary>
internal sealed record DeadLetterRecord(byte[]? Key, byte[]? Value, Headers Headers)
{
    /// <param name="record">The rejected input record.</param>
    /// <param name="rejection">Why it was rejected.</param>
    /// <param name="headers">The commit's own headers (trace context, commit id), added to first.</param>
    /// <param name="maxBytes">The largest record the dead-letter topic accepts (<see cref="SegmentStreamOptions.DeadLetterMaxBytes"/>).</param>
    public static DeadLetterRecord From(ConsumeResult<byte[]?, byte[]?> record, EventRejection rejection, Headers headers, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(headers);
        // The broker refuses a record over its max.message.bytes, and a refused dead letter fails the transaction
        // at every restart: everything that comes from the record (its headers, key and value) is fitted into
        // the limit. Its headers (trace context) are kept while they take at most a quarter of it.
        var original = record.Message.Headers;
        if (original is not null && HeaderBytes(original) <= maxBytes / 4)
        {
            foreach (var header in original)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }
        else if (original is { Count: > 0 })
        {
            headers.Add("segments-original-headers-dropped", Encoding.ASCII.GetBytes(original.Count.ToString(CultureInfo.InvariantCulture)));
        }

        headers.Add("segments-reason", Encoding.UTF8.GetBytes(rejection.Code));
        headers.Add("segments-reason-message", Encoding.UTF8.GetBytes(rejection.Message));
        headers.Add("segments-source-topic", Encoding.UTF8.GetBytes(record.Topic));
        headers.Add("segments-source-partition", Encoding.ASCII.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add("segments-source-offset", Encoding.ASCII.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        var key = record.Message.Key;
        var value = record.Message.Value;
        var size = (key?.Length ?? 0) + (value?.Length ?? 0);
        // Besides the headers' bytes: the two size headers added below, and the framing of the record, its batch and
        // each header (varint lengths), so that the limit may equal the topic's max.message.bytes.
        var room = Math.Max(0, maxBytes - HeaderBytes(headers) - 512 - (8 * (headers.Count + 2)));
        if (size > room)
        {
            headers.Add("segments-truncated", "true"u8.ToArray());
            headers.Add("segments-original-size", Encoding.ASCII.GetBytes(size.ToString(CultureInfo.InvariantCulture)));
            key = key is { Length: var keyLength } && keyLength > room ? key[..room] : key;
            value = value?[..Math.Min(value.Length, room - (key?.Length ?? 0))];
        }

        return new(key, value, headers);
    }

    private static int HeaderBytes(Headers headers)
    {
        var bytes = 0;
        foreach (var header in headers)
        {
            bytes += Encoding.UTF8.GetByteCount(header.Key) + (header.GetValueBytes()?.Length ?? 0);
        }

        return bytes;
    }
}
