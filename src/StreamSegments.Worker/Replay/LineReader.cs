namespace StreamSegments.Worker.Replay;

/// <summary>
/// Reads a JSON-lines file line by line into one reused buffer, tracking each line's number and the byte
/// offset where the next line starts (what a checkpoint records). A line longer than
/// <see cref="MaxLineBytes"/> is not buffered whole: it is reported as oversized and skipped to its end, so
/// a pathological input cannot exhaust memory.
/// </summary>
public sealed class LineReader : IDisposable
{
    private readonly Stream stream;
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
        if (startOffset > 0)
        {
            stream.Seek(startOffset, SeekOrigin.Begin);
        }
    }

    public int MaxLineBytes { get; }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Byte offset of the line after the one last returned.</summary>
    public long NextOffset { get; private set; }

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
                line = Trim(buffer.AsSpan(start, newline));
                Consume(newline + 1);
                return true;
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
                    line = Trim(buffer.AsSpan(start, end - start));
                    Consume(end - start);
                    return true;
                }

                line = default;
                return false;
            }

            Fill();
        }
    }

    public void Dispose() => stream.Dispose();

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line) => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    private void Consume(int count)
    {
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
