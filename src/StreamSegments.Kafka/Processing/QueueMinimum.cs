namespace StreamSegments.Kafka.Processing;

/// <summary>
/// The smallest of the values in a first-in first-out queue, kept as they are added and removed: a deque of the
/// values that can still become the minimum, increasing from front to back. O(1) amortized per value, and no
/// allocation once grown to the queue's largest size.
/// </summary>
internal sealed class QueueMinimum
{
    private long[] candidates = new long[16];
    private int front;
    private int count;

    public bool TryPeek(out long minimum)
    {
        minimum = count > 0 ? candidates[front] : 0;
        return count > 0;
    }

    /// <summary>A value joined the back of the queue: earlier ones larger than it can never be the minimum again.</summary>
    public void Added(long value)
    {
        while (count > 0 && candidates[(front + count - 1) & (candidates.Length - 1)] > value)
        {
            count--;
        }

        if (count == candidates.Length)
        {
            var grown = new long[candidates.Length * 2];
            for (var i = 0; i < count; i++)
            {
                grown[i] = candidates[(front + i) & (candidates.Length - 1)];
            }

            (candidates, front) = (grown, 0);
        }

        candidates[(front + count) & (candidates.Length - 1)] = value;
        count++;
    }

    /// <summary>The value at the front of the queue left it.</summary>
    public void Removed(long value)
    {
        if (count > 0 && candidates[front] == value)
        {
            front = (front + 1) & (candidates.Length - 1);
            count--;
        }
    }
}
