using System.ComponentModel.DataAnnotations;
using Confluent.Kafka;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class ClientConfigsTests
{
    private const string Bootstrap = "broker:9092";

    [Fact]
    public void An_operators_client_settings_reach_every_client_and_win_over_the_workers_defaults()
    {
        var options = new SegmentStreamOptions { BootstrapServers = Bootstrap };
        options.Client["security.protocol"] = "ssl";
        options.Client["linger.ms"] = "20";
        options.Client["fetch.wait.max.ms"] = "500";
        var defaults = new SegmentStreamOptions { BootstrapServers = Bootstrap };

        var producer = ClientConfigs.Producer(options);
        var inputs = ClientConfigs.Inputs(options);

        Assert.Equal(20, producer.LingerMs);
        Assert.NotEqual(20, ClientConfigs.Producer(defaults).LingerMs);
        Assert.Equal(500, inputs.FetchWaitMaxMs);
        Assert.NotEqual(500, ClientConfigs.Inputs(defaults).FetchWaitMaxMs);
        ClientConfig[] all = [producer, inputs, ClientConfigs.ChangelogReader(options), ClientConfigs.Admin(options)];
        Assert.All(all, config => Assert.Equal(SecurityProtocol.Ssl, config.SecurityProtocol));
        Assert.All(all, config => Assert.Equal(Bootstrap, config.BootstrapServers));
    }

    [Fact]
    public void A_reserved_setting_with_the_workers_own_value_is_accepted_and_a_lowered_message_size_is_raised_back()
    {
        var options = new SegmentStreamOptions { BootstrapServers = Bootstrap };
        options.Client["isolation.level"] = "read_committed";
        options.Client["enable.idempotence"] = "true";
        options.Client["enable.auto.commit"] = "false";
        options.Client["bootstrap.servers"] = Bootstrap;
        options.Client["message.max.bytes"] = "524288";

        Assert.True(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
        Assert.True(ClientConfigs.Producer(options).MessageMaxBytes >= options.DeadLetterMaxBytes + 4096);
    }

    [Theory]
    [InlineData("isolation.level", "read_uncommitted")]
    [InlineData("enable.auto.commit", "true")]
    [InlineData("Partition.Assignment.Strategy", "roundrobin")]
    [InlineData("group.protocol", "consumer")]
    [InlineData("bootstrap.servers", "elsewhere:9092")]
    [InlineData("partitioner", "consistent_random")]
    [InlineData("auto.offset.reset", "latest")]
    public void A_setting_exactly_once_or_the_task_model_depends_on_is_rejected_and_never_applied(string key, string value)
    {
        var options = new SegmentStreamOptions { BootstrapServers = Bootstrap };
        options.Client[key] = value;

        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        var error = Assert.Single(results);
        Assert.Contains($"Kafka:Client:{key}", error.ErrorMessage, StringComparison.Ordinal);

        // Even unvalidated, the worker's own values are applied last.
        var inputs = ClientConfigs.Inputs(options);
        Assert.Equal(IsolationLevel.ReadCommitted, inputs.IsolationLevel);
        Assert.False(inputs.EnableAutoCommit);
        Assert.Equal(PartitionAssignmentStrategy.Range, inputs.PartitionAssignmentStrategy);
        Assert.Equal(GroupProtocol.Classic, inputs.GroupProtocol);
        Assert.Equal(Bootstrap, inputs.BootstrapServers);
        Assert.Equal(AutoOffsetReset.Earliest, inputs.AutoOffsetReset);
        Assert.Equal(AutoOffsetReset.Earliest, ClientConfigs.ChangelogReader(options).AutoOffsetReset);
        Assert.True(ClientConfigs.Producer(options).EnableIdempotence);
    }
}
