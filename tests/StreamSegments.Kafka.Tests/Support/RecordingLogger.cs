using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace StreamSegments.Kafka.Tests.Support;

/// <summary>
/// A logger that keeps what it is given, for assertions (<see cref="Lines"/>: "Level: message") and for failure
/// messages (<see cref="ToString"/>, with times). Safe to write from any thread, as librdkafka's and the worker's are.
/// </summary>
public sealed class RecordingLogger<TCategory>(LogLevel minimum = LogLevel.Trace) : ILogger<TCategory>
{
    private readonly ConcurrentQueue<(DateTime At, string Line)> entries = new();

    public IReadOnlyList<string> Lines => entries.Select(entry => entry.Line).ToList();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            entries.Enqueue((DateTime.UtcNow, exception is null ? $"{logLevel}: {formatter(state, exception)}" : $"{logLevel}: {formatter(state, exception)} {exception}"));
        }
    }

    public override string ToString() => string.Join('\n', entries.Select(entry => $"{entry.At:HH:mm:ss.fff} {entry.Line}"));
}
