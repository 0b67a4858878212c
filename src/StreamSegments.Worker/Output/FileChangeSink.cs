using StreamSegments.Core.Processing;
using StreamSegments.Core.Serialization;

namespace StreamSegments.Worker.Output;

/// <summary>Writes a task's segment changes and category interest changes to two JSON-lines files.</summary>
public sealed class FileChangeSink(JsonLinesWriter segmentChanges, JsonLinesWriter categoryChanges) : IChangeSink
{
    public void SegmentChanged(in SegmentChange change)
    {
        ChangeMessages.WriteSegmentChange(segmentChanges.BeginLine(), change);
        segmentChanges.EndLine();
    }

    public void CategoryInterestChanged(in CategoryInterestChange change)
    {
        ChangeMessages.WriteCategoryInterestChange(categoryChanges.BeginLine(), change);
        categoryChanges.EndLine();
    }
}
