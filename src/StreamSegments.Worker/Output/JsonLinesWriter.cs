using System.Buffers;
using System.Text.Json;
using StreamSegments.Core;

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
    private bool disposed;

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
        var existing = new FileInfo(path);
        var existingLength = existing.Exists ? existing.Length : 0;
        if (existingLength < length)
        {
            throw new SetupException(
                $"'{path}' is shorter ({existingLength} bytes) than the state directory's checkpoint says ({length} bytes): " +
                "it was changed, moved or deleted since. Resume with the interrupted run's outputs, or use a fresh --state-dir.");
        }

        FileStream? file = null;
        try
        {
            Directory.CreateDirectory(existing.DirectoryName!);
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            file.SetLength(length);
            file.Position = length;
            return new JsonLinesWriter(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            throw new SetupException($"Cannot write '{path}': {ex.Message}", ex);
        }
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

    /// <summary>Flushes and closes the file; later calls do nothing, so a file can be closed before its <c>using</c> ends.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
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
