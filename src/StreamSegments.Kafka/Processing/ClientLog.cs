using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamSegments.Kafka.Processing;

/// <summary>
/// librdkafka's own log lines, for every client the worker creates: warnings and errors reach the operator at their
/// own levels (a broker down, a fenced producer); the informational chatter below that does not.
/// </summary>
internal static partial class ClientLog
{
    public static void Write(ILogger logger, LogMessage message)
    {
        if (message.Level <= SyslogLevel.Error)
        {
            Error(logger, message.Name, message.Facility, message.Message);
        }
        else if (message.Level == SyslogLevel.Warning)
        {
            Warning(logger, message.Name, message.Facility, message.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Error(ILogger logger, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void Warning(ILogger logger, string client, string facility, string text);
}
