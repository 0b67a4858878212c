using System.Buffers;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamSegments.Core.Processing;
using StreamSegments.Core.Rules;
using StreamSegments.Core.Serialization;
using StreamSegments.Kafka.Telemetry;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// Publishes a task's changes into the open transaction: segment changes keyed by buyer to the changes topic
/// (and, when routed, to the topics of the segments left and entered), category interest changes to theirs, facts
/// of cats(s) keyed by (seller, category) to the seller categories topic, and when configured each pair's and each
/// (category, buyer)'s current state to its compacted table topic.
/// Every record carries the <see cref="CommitMarker.Header"/> of the commit it belongs to and the trace context of
/// the batch that publishes it. Its owner task's gauges count the changes, and a change marks it dirty.
/// </summary>
internal sealed class TaskChangeSink(PartitionTask owner, OutputProducer producer, TopicOptions topics, SegmentStreamTelemetry telemetry) : IChangeSink, IDisposable
{
    private readonly ArrayBufferWriter<byte> buffer = new(1024);
    private readonly Dictionary<Segment, string> routes = topics.PerSegment.ToDictionary(
        p => SegmentNames.TryParse(p.Key, out var segment) ? segment : throw new ArgumentException($"Unknown segment '{p.Key}'."),
        p => p.Value);

    private Utf8JsonWriter? json;
    private Headers? commitHeaders;
    private long commitHeadersSequence;
    private byte[]? commitHeadersTraceParent;

    public void SegmentChanged(in SegmentChange change)
    {
        var writer = Begin();
        ChangeMessages.WriteSegmentChange(writer, change);
        var value = End();
        var key = change.BuyerId.ToArray();
        producer.Produce(topics.SegmentChanges, key, value, CommitHeaders());
        if (routes.Count > 0)
        {
            string? left = null;
            if (change.From != Segment.None && routes.TryGetValue(change.From, out left))
            {
                producer.Produce(left, key, value, CommitHeaders());
            }

            if (change.To != Segment.None && routes.TryGetValue(change.To, out var entered) && entered != left)
            {
                producer.Produce(entered, key, value, CommitHeaders());
            }
        }

        if (!string.IsNullOrEmpty(topics.CurrentSegments))
        {
            PublishCurrent(topics.CurrentSegments, change.SellerId, change.BuyerId, change.To != Segment.None ? value : null);
        }

        owner.Readings.SegmentChanged(change.From, change.To);
        owner.Dirty = true;
    }

    public void CategoryInterestChanged(in CategoryInterestChange change)
    {
        var writer = Begin();
        ChangeMessages.WriteCategoryInterestChange(writer, change);
        var value = End();
        producer.Produce(topics.CategoryInterestChanges, change.BuyerId.ToArray(), value, CommitHeaders());
        if (!string.IsNullOrEmpty(topics.CurrentCategoryInterests))
        {
            PublishCurrent(topics.CurrentCategoryInterests, change.CategoryId, change.BuyerId, change.Entered ? value : null);
        }

        owner.Readings.CategoryInterestChanged(change.Entered);
        owner.Dirty = true;
    }

    /// <summary>A pair's segment as it stands, to the segments table only: it is no change (a table being filled).</summary>
    public void SegmentRestated(in SegmentChange current)
    {
        if (!string.IsNullOrEmpty(topics.CurrentSegments))
        {
            var writer = Begin();
            ChangeMessages.WriteSegmentChange(writer, current);
            PublishCurrent(topics.CurrentSegments, current.SellerId, current.BuyerId, End());
            owner.TableFillRecords++;
            owner.Dirty = true;
        }
    }

    /// <summary>An interest held as it stands, to the interests table only.</summary>
    public void CategoryInterestRestated(in CategoryInterestChange current)
    {
        if (!string.IsNullOrEmpty(topics.CurrentCategoryInterests))
        {
            var writer = Begin();
            ChangeMessages.WriteCategoryInterestChange(writer, current);
            PublishCurrent(topics.CurrentCategoryInterests, current.CategoryId, current.BuyerId, End());
            owner.TableFillRecords++;
            owner.Dirty = true;
        }
    }

    public void SellerCategoryLearned(ReadOnlySpan<byte> sellerId, ReadOnlySpan<byte> categoryId, long at)
    {
        var writer = Begin();
        ChangeMessages.WriteSubjectKey(writer, sellerId, categoryId);
        var key = End();
        writer = Begin();
        ChangeMessages.WriteSellerCategory(writer, sellerId, categoryId, at);
        producer.Produce(topics.SellerCategories, key, End(), CommitHeaders());
        owner.Dirty = true;
    }

    public void Dispose() => json?.Dispose();

    /// <summary>
    /// A current-state table's record: keyed by its subject, the change that made the current state, or a tombstone
    /// (<paramref name="value"/> null) when nothing is left to hold, so that compaction keeps what holds now. Keyed by
    /// two ids, it lands on the partition of its key, not of the buyer: one subject's records stay in order.
    /// </summary>
    private void PublishCurrent(string topic, ReadOnlySpan<byte> subject, ReadOnlySpan<byte> buyerId, byte[]? value)
    {
        var writer = Begin();
        ChangeMessages.WriteSubjectKey(writer, subject, buyerId);
        producer.Produce(topic, End(), value, CommitHeaders());
    }

    /// <summary>New headers naming the open commit, for a caller that adds its own (dead letters keep their producer's trace context).</summary>
    public Headers Headers() => new() { { CommitMarker.Header, Encoding.ASCII.GetBytes(owner.CurrentCommitId) } };

    /// <summary>
    /// The open commit's headers (its id and the trace context of the batch publishing it), shared by every record of
    /// the commit that adds none (the client copies headers when a record is produced): one allocation per commit
    /// instead of per record. Never modify them.
    /// </summary>
    public Headers CommitHeaders()
    {
        var traceParent = telemetry.BatchTraceParent;
        if (commitHeaders is null || commitHeadersSequence != owner.Sequence || !ReferenceEquals(commitHeadersTraceParent, traceParent))
        {
            commitHeaders = Headers();
            if (traceParent is not null)
            {
                commitHeaders.Add(SegmentStreamTelemetry.TraceParentHeader, traceParent);
            }

            commitHeadersSequence = owner.Sequence;
            commitHeadersTraceParent = traceParent;
        }

        return commitHeaders;
    }

    private Utf8JsonWriter Begin()
    {
        buffer.ResetWrittenCount();
        if (json is null)
        {
            // Only the escapes JSON requires, as in the replay's files: values byte-identical to theirs, and a fact's key
            // the bytes any JSON serializer writes for ["sellerId","categoryId"].
            json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        }
        else
        {
            json.Reset(buffer);
        }

        return json;
    }

    private byte[] End()
    {
        json!.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
