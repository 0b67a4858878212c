using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// librdkafka's own log lines, for every client the worker creates: warnings and errors reach the operator at their
/// own levels (a broker down, a fenced producer), the rest at debug level (what <c>Kafka:Client:debug</c> asks for).
/// </summary>
/// <remarks>
/// While a broker is down every client logs each failed connection, twice (FAIL and ERROR), tens of lines a second
/// for as long as it lasts. A warning or error that repeats (the same client, facility and text but for its numbers)
/// is logged once per <see cref="RepeatWindowMs"/>, saying how many were left out since.
/// </remarks>
internal static partial class ClientLog
{
    public const long RepeatWindowMs = 30_000;

    private const int MaxTracked = 10_000;
    private static readonly ConcurrentDictionary<string, Repeats> Recent = new(StringComparer.Ordinal);

    public static void Write(ILogger logger, LogMessage message) => Write(logger, message, Environment.TickCount64);

    internal static void Write(ILogger logger, LogMessage message, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Kafka:Client settings go to every client, so a consumer's setting is "ignored by this producer instance" (and
        // the other way round) at each start: expected, and no concern of the operator's.
        if (message.Level > SyslogLevel.Warning || (message.Facility == "CONFWARN" && IgnoredByThisClient().IsMatch(message.Message)))
        {
            Debug(logger, message.Name, message.Facility, message.Message);
            return;
        }

        if (Recent.Count > MaxTracked)
        {
            Recent.Clear();
        }

        var repeats = Recent.GetOrAdd($"{message.Name}|{message.Facility}|{Digits().Replace(message.Message, "#")}", _ => new Repeats());
        int leftOut;
        lock (repeats)
        {
            if (repeats.LoggedAtMs is { } logged && nowMs - logged < RepeatWindowMs)
            {
                repeats.LeftOut++;
                return;
            }

            (leftOut, repeats.LeftOut, repeats.LoggedAtMs) = (repeats.LeftOut, 0, nowMs);
        }

        var text = leftOut == 0 ? message.Message : $"{message.Message} ({leftOut} more like it left out since the last)";
        if (message.Level <= SyslogLevel.Error)
        {
            Error(logger, message.Name, message.Facility, text);
        }
        else
        {
            Warning(logger, message.Name, message.Facility, text);
        }
    }

    [GeneratedRegex("is a (consumer|producer) property and will be ignored by this (consumer|producer) instance")]
    private static partial Regex IgnoredByThisClient();

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();

    [LoggerMessage(Level = LogLevel.Error, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Error(ILogger logger, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Warning(ILogger logger, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Debug, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Debug(ILogger logger, string client, string facility, string text);

    private sealed class Repeats
    {
        public long? LoggedAtMs { get; set; }

        public int LeftOut { get; set; }
    }
}
