using Confluent.Kafka;
using StreamSegments.Kafka.Processing;
using StreamSegments.Kafka.Tests.Support;

namespace StreamSegments.Kafka.Tests.Processing;

public class ClientLogTests
{
    private readonly string client = $"rdkafka#test-{Guid.NewGuid():N}";
    private readonly RecordingLogger<ClientLogTests> logger = new();

    [Fact]
    public void A_failure_repeated_while_a_broker_is_down_is_logged_once_per_window_with_a_count_of_those_left_out()
    {
        for (var i = 0; i < 100; i++)
        {
            ClientLog.Write(logger, Message(SyslogLevel.Error, "FAIL", $"127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after {i}ms in state CONNECT)"), nowMs: 1_000 + (i * 100));
        }

        // Another failure is not one of them, and a warning of the same text is another line too.
        ClientLog.Write(logger, Message(SyslogLevel.Error, "FAIL", "Receive failed: SSL handshake failed"), nowMs: 5_000);
        ClientLog.Write(logger, Message(SyslogLevel.Error, "ERROR", "127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after 3ms in state CONNECT)"), nowMs: 5_000);
        ClientLog.Write(logger, Message(SyslogLevel.Error, "FAIL", "127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after 7ms in state CONNECT)"), nowMs: 1_000 + ClientLog.RepeatWindowMs);

        Assert.Equal(
        [
            $"Error: librdkafka {client} FAIL: 127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after 0ms in state CONNECT)",
            $"Error: librdkafka {client} FAIL: Receive failed: SSL handshake failed",
            $"Error: librdkafka {client} ERROR: 127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after 3ms in state CONNECT)",
            $"Error: librdkafka {client} FAIL: 127.0.0.1:9092/bootstrap: Connect failed: Connection refused (after 7ms in state CONNECT) (99 more like it left out since the last)",
        ], logger.Lines);
    }

    [Fact]
    public void What_Kafka_Client_debug_asks_librdkafka_for_is_logged_at_debug_level_every_time()
    {
        ClientLog.Write(logger, Message(SyslogLevel.Debug, "CGRP", "Group \"g\": join"), nowMs: 1);
        ClientLog.Write(logger, Message(SyslogLevel.Debug, "CGRP", "Group \"g\": join"), nowMs: 2);
        ClientLog.Write(logger, Message(SyslogLevel.Warning, "CONFWARN", "fetch.wait.max.ms is a consumer property"), nowMs: 3);

        Assert.Equal(
        [
            $"Debug: librdkafka {client} CGRP: Group \"g\": join",
            $"Debug: librdkafka {client} CGRP: Group \"g\": join",
            $"Warning: librdkafka {client} CONFWARN: fetch.wait.max.ms is a consumer property",
        ], logger.Lines);
    }

    [Fact]
    public void A_setting_meant_for_the_other_kind_of_client_is_debug_but_other_configuration_warnings_stay_warnings()
    {
        ClientLog.Write(logger, Message(SyslogLevel.Warning, "CONFWARN", "Configuration property session.timeout.ms is a consumer property and will be ignored by this producer instance"), nowMs: 1);
        ClientLog.Write(logger, Message(SyslogLevel.Warning, "CONFWARN", "Configuration property linger.ms is a producer property and will be ignored by this consumer instance"), nowMs: 2);
        ClientLog.Write(logger, Message(SyslogLevel.Warning, "CONFWARN", "Configuration property ssl.ca.location is deprecated"), nowMs: 3);

        Assert.Equal(
        [
            $"Debug: librdkafka {client} CONFWARN: Configuration property session.timeout.ms is a consumer property and will be ignored by this producer instance",
            $"Debug: librdkafka {client} CONFWARN: Configuration property linger.ms is a producer property and will be ignored by this consumer instance",
            $"Warning: librdkafka {client} CONFWARN: Configuration property ssl.ca.location is deprecated",
        ], logger.Lines);
    }

    private LogMessage Message(SyslogLevel level, string facility, string text) => new(client, level, facility, text);
}
