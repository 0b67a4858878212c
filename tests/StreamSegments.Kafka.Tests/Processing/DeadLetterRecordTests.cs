using System.Text;
using Confluent.Kafka;
using StreamSegments.Core.Events;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public class DeadLetterRecordTests
{
    private static readonly EventRejection Rejection = new(RejectReason.MissingField, "buyerId");

    [Fact]
    public void A_record_that_fits_keeps_its_key_value_and_headers_after_the_commits_and_says_why_and_where_from()
    {
        var record = Record(key: "b-1"u8.ToArray(), value: "{\"type\":\"order-paid\"}"u8.ToArray(), new Headers { { "traceparent", "00-abc-01"u8.ToArray() } });

        var letter = DeadLetterRecord.From(record, Rejection, new Headers { { "segments-commit-id", "t-1"u8.ToArray() } }, maxBytes: 1_000_000);

        Assert.Equal(record.Message.Key, letter.Key);
        Assert.Equal(record.Message.Value, letter.Value);
        Assert.Equal(
            ["segments-commit-id=t-1", "traceparent=00-abc-01", "segments-reason=missing-field", "segments-reason-message=missing field 'buyerId'",
             "segments-source-topic=orders.paid", "segments-source-partition=2", "segments-source-offset=41"],
            letter.Headers.Select(h => $"{h.Key}={Encoding.UTF8.GetString(h.GetValueBytes())}"));
    }

    [Fact]
    public void A_record_too_large_for_the_topic_is_cut_to_fit_with_its_original_size_and_its_bulky_headers_counted_instead_of_kept()
    {
        var value = new byte[50_000];
        var bulky = new Headers { { "a", new byte[3_000] }, { "b", new byte[3_000] } };
        var record = Record(key: "b-1"u8.ToArray(), value, bulky);

        var letter = DeadLetterRecord.From(record, Rejection, [], maxBytes: 20_000);

        var headers = letter.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));
        Assert.Equal(("2", "true", "50003"), (headers["segments-original-headers-dropped"], headers["segments-truncated"], headers["segments-original-size"]));
        Assert.False(headers.ContainsKey("a"));
        Assert.Equal(record.Message.Key, letter.Key);
        var total = letter.Key!.Length + letter.Value!.Length + letter.Headers.Sum(h => h.Key.Length + h.GetValueBytes().Length);
        Assert.InRange(total, 15_000, 20_000);
    }

    private static ConsumeResult<byte[]?, byte[]?> Record(byte[] key, byte[] value, Headers headers) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset("orders.paid", 2, 41),
        Message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers },
    };
}
