using System.IO.Hashing;

namespace StreamSegments.Worker.Replay;

/// <summary>
/// Reads a JSON-lines file line by line into one reused buffer, tracking each line's number, the byte offset
/// where the next line starts and a hash of every byte before it (what a checkpoint records). A line longer
/// than <see cref="MaxLineBytes"/> is reported as oversized, and is not buffered whole when it exceeds the
/// buffer, so a pathological input cannot exhaust memory.
/// </summary>
public sealed class LineReader : IDisposable
{
    private readonly Stream stream;
    private readonly XxHash64 consumed = new();
    private byte[] buffer;
    private int start;
    private int end;
    private bool eof;

    public LineReader(Stream stream, int maxLineBytes, long startOffset = 0, long startLine = 0)
    {
        this.stream = stream;
        MaxLineBytes = maxLineBytes;
        buffer = new byte[Math.Max(1 << 20, maxLineBytes + 2)];
        NextOffset = startOffset;
        LineNumber = startLine;

        // Read rather than seek: a resumed run checks that the lines before its position are those it replayed.
        for (var left = startOffset; left > 0;)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
            {
                throw new InvalidDataException($"The input ends before byte {startOffset}.");
            }

            consumed.Append(buffer.AsSpan(0, read));
            left -= read;
        }
    }

    public int MaxLineBytes { get; }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Byte offset of the line after the one last returned.</summary>
    public long NextOffset { get; private set; }

    /// <summary>XxHash64 of the input's bytes before <see cref="NextOffset"/>.</summary>
    public ulong ConsumedHash => consumed.GetCurrentHashAsUInt64();

    /// <summary>
    /// The next line without its terminator (<c>\n</c> or <c>\r\n</c>); <paramref name="oversized"/> when the
    /// line exceeded the limit (its content is then not returned). False at the end of the input.
    /// </summary>
    public bool TryReadLine(out ReadOnlySpan<byte> line, out bool oversized)
    {
        oversized = false;
        while (true)
        {
            var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return Take(newline, newline + 1, out line, out oversized);
            }

            if (end - start > MaxLineBytes + 1)
            {
                oversized = true;
                SkipToEndOfLine();
                line = default;
                return true;
            }

            if (eof)
            {
                if (end > start)
                {
                    return Take(end - start, end - start, out line, out oversized);
                }

                line = default;
                return false;
            }

            Fill();
        }
    }

    public void Dispose() => stream.Dispose();

    /// <summary>
    /// Returns the line in the buffer's next <paramref name="length"/> bytes and consumes <paramref name="consumed"/>:
    /// a line whole in the buffer (at least a mebibyte, whatever the limit) is still oversized when over the limit.
    /// </summary>
    private bool Take(int length, int consumed, out ReadOnlySpan<byte> line, out bool oversized)
    {
        line = Trim(buffer.AsSpan(start, length));
        oversized = line.Length > MaxLineBytes;
        if (oversized)
        {
            line = default;
        }

        Consume(consumed);
        return true;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line) => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    private void Consume(int count)
    {
        consumed.Append(buffer.AsSpan(start, count));
        start += count;
        NextOffset += count;
        LineNumber++;
    }

    private void SkipToEndOfLine()
    {
        while (true)
        {
            var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                Consume(newline + 1);
                return;
            }

            consumed.Append(buffer.AsSpan(start, end - start));
            NextOffset += end - start;
            start = end = 0;
            if (eof)
            {
                LineNumber++;
                return;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (start > 0)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }

        if (end == buffer.Length)
        {
            Array.Resize(ref buffer, buffer.Length * 2);
        }

        var read = stream.Read(buffer, end, buffer.Length - end);
        if (read == 0)
        {
            eof = true;
        }

        end += read;
    }
}
