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
/// (and, when routed, to the topics of the segments left and entered), category interest changes to theirs.
/// Every record carries the <see cref="CommitMarker.Header"/> of the commit it belongs to.
/// </summary>
internal sealed class TaskChangeSink(OutputProducer producer, TopicOptions topics, SegmentStreamTelemetry telemetry) : IChangeSink, IDisposable
{
    private readonly ArrayBufferWriter<byte> buffer = new(1024);
    private readonly Dictionary<Segment, string> routes = topics.PerSegment.ToDictionary(
        p => SegmentNames.TryParse(p.Key, out var segment) ? segment : throw new ArgumentException($"Unknown segment '{p.Key}'."),
        p => p.Value);

    private Utf8JsonWriter? json;

    public PartitionTask Task { get; set; } = null!;

    public void SegmentChanged(in SegmentChange change)
    {
        var writer = Begin();
        ChangeMessages.WriteSegmentChange(writer, change);
        var value = End();
        var key = change.BuyerId.ToArray();
        producer.Produce(topics.SegmentChanges, key, value, Headers());
        if (routes.Count > 0)
        {
            string? left = null;
            if (change.From != Segment.None && routes.TryGetValue(change.From, out left))
            {
                producer.Produce(left, key, value, Headers());
            }

            if (change.To != Segment.None && routes.TryGetValue(change.To, out var entered) && entered != left)
            {
                producer.Produce(entered, key, value, Headers());
            }
        }

        Task.Readings.SegmentChanged(change.From, change.To);
        Task.Dirty = true;
    }

    public void CategoryInterestChanged(in CategoryInterestChange change)
    {
        var writer = Begin();
        ChangeMessages.WriteCategoryInterestChange(writer, change);
        producer.Produce(topics.CategoryInterestChanges, change.BuyerId.ToArray(), End(), Headers());
        Task.Readings.CategoryInterestChanged(change.Entered);
        Task.Dirty = true;
    }

    public void Dispose() => json?.Dispose();

    /// <summary>
    /// Headers of a record of this task's transaction: its commit id and, unless <paramref name="traced"/> is false
    /// (a dead letter keeps its producer's), the trace context of the batch that publishes it.
    /// </summary>
    public Headers Headers(bool traced = true)
    {
        var headers = new Headers { { CommitMarker.Header, Encoding.ASCII.GetBytes(Task.CurrentCommitId) } };
        if (traced && telemetry.BatchTraceParent is { } traceParent)
        {
            headers.Add(SegmentStreamTelemetry.TraceParentHeader, traceParent);
        }

        return headers;
    }

    private Utf8JsonWriter Begin()
    {
        buffer.ResetWrittenCount();
        if (json is null)
        {
            json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
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
