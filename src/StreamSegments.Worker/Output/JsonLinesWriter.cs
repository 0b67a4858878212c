using System.Buffers;
using System.Text.Json;

namespace StreamSegments.Worker.Output;

/// <summary>
/// Writes JSON lines to a file through one reused Utf8JsonWriter and buffer. <see cref="Length"/> is the file
/// length once everything written is flushed: what a checkpoint records, so a resumed run can cut the file
/// back to exactly the lines its state reflects.
/// </summary>
public sealed class JsonLinesWriter : IDisposable
{
    private const int FlushThreshold = 256 * 1024;

    private readonly FileStream file;
    private readonly ArrayBufferWriter<byte> buffer = new(FlushThreshold * 2);
    private readonly Utf8JsonWriter json;

    private JsonLinesWriter(FileStream file)
    {
        this.file = file;
        json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public string Path => file.Name;

    public long Length => file.Position + buffer.WrittenCount + json.BytesPending;

    public long Lines { get; private set; }

    /// <summary>Creates (or truncates) the file.</summary>
    public static JsonLinesWriter Create(string path) => Open(path, length: 0);

    /// <summary>Opens the file cut back to <paramref name="length"/> bytes, appending from there.</summary>
    public static JsonLinesWriter Open(string path, long length)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (file.Length < length)
        {
            file.Dispose();
            throw new InvalidDataException($"'{path}' is shorter ({file.Length} bytes) than its checkpoint says ({length} bytes).");
        }

        file.SetLength(length);
        file.Position = length;
        return new JsonLinesWriter(file);
    }

    /// <summary>Starts a line: write exactly one JSON value to the returned writer, then call <see cref="EndLine"/>.</summary>
    public Utf8JsonWriter BeginLine() => json;

    public void EndLine()
    {
        json.Flush();
        json.Reset();
        buffer.GetSpan(1)[0] = (byte)'\n';
        buffer.Advance(1);
        Lines++;
        if (buffer.WrittenCount >= FlushThreshold)
        {
            Drain();
        }
    }

    /// <summary>Writes buffered lines to the file and, if <paramref name="durable"/>, to the disk.</summary>
    public void Flush(bool durable)
    {
        json.Flush();
        Drain();
        file.Flush(flushToDisk: durable);
    }

    public void Dispose()
    {
        Flush(durable: false);
        json.Dispose();
        file.Dispose();
    }

    private void Drain()
    {
        if (buffer.WrittenCount > 0)
        {
            file.Write(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }
    }
}
