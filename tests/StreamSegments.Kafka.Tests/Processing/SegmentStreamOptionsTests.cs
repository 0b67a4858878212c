using System.ComponentModel.DataAnnotations;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Kafka.Tests.Processing;

public sealed class SegmentStreamOptionsTests
{
    [Theory]
    [InlineData("interested-categories", "sellers.category-buyers", "not a segment of the change stream")]
    [InlineData("", "sellers.nobody", "not a segment of the change stream")]
    [InlineData("regular-topp", "sellers.top-buyers", "not a segment of the change stream")]
    [InlineData("regular-top", "segments.changed", "must name a topic of its own")]
    [InlineData("regular-top", "orders.paid", "must name a topic of its own")]
    [InlineData("regular-top", " ", "must name a topic of its own")]
    [InlineData("regular-top", "segments.current", "must name a topic of its own")]
    public void A_per_segment_route_must_name_a_direct_segment_and_a_topic_of_its_own(string segment, string topic, string error)
    {
        var options = new SegmentStreamOptions();
        options.Topics.CurrentSegments = "segments.current";
        options.Topics.PerSegment[segment] = topic;

        var message = Assert.Single(Validate(options));
        Assert.Contains($"Topics:PerSegment:{segment}", message, StringComparison.Ordinal);
        Assert.Contains(error, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("segments.current", "segments.category-interest.current", null)]
    [InlineData("segments.current", "", null)]
    [InlineData("segments.changed", "", "must be distinct")]
    [InlineData("segments.current", "segments.current", "must be distinct")]
    [InlineData(" ", "", "must be set")]
    public void A_current_state_table_is_left_out_when_empty_and_otherwise_needs_a_topic_of_its_own(string segments, string interests, string? error)
    {
        var options = new SegmentStreamOptions();
        options.Topics.CurrentSegments = segments;
        options.Topics.CurrentCategoryInterests = interests;

        if (error is null)
        {
            Assert.Empty(Validate(options));
            Assert.Equal(interests.Length > 0 ? 2 : 1, options.Topics.Tables.Count);
            Assert.Contains(segments, options.Topics.All);
        }
        else
        {
            Assert.Contains(error, Assert.Single(Validate(options)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_input_partitioner_outside_the_named_ones_is_refused_rather_than_dead_lettering_every_record()
    {
        var options = new SegmentStreamOptions { InputPartitioner = (InputPartitioner)3 };

        Assert.Contains("InputPartitioner must be one of", Assert.Single(Validate(options)), StringComparison.Ordinal);
        Assert.Empty(Validate(new SegmentStreamOptions { InputPartitioner = InputPartitioner.Crc32 }));
    }

    [Fact]
    public void A_client_setting_librdkafka_refuses_is_an_invalid_option_naming_the_key_as_written()
    {
        var options = new SegmentStreamOptions();
        options.Client["linger.ms"] = "abc";
        options.Client["no.such.setting"] = "1";
        options.Client["fetch.wait.max.ms"] = "50"; // a consumer's setting, valid for the worker's consumers

        var errors = Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Kafka:Client:linger.ms ('abc') is refused by librdkafka: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Kafka:Client:no.such.setting ('1') is refused by librdkafka: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Client_settings_valid_only_together_are_taken_together()
    {
        // security.protocol SASL_SSL alone would mean GSSAPI, which the bundled librdkafka is built without.
        var options = new SegmentStreamOptions();
        options.Client["security.protocol"] = "SASL_SSL";
        options.Client["sasl.mechanisms"] = "PLAIN";
        options.Client["sasl.username"] = "u";
        options.Client["sasl.password"] = "p";

        Assert.Empty(Validate(options));
    }

    [Fact]
    public void Several_segments_may_share_a_route()
    {
        var options = new SegmentStreamOptions();
        options.Topics.PerSegment["regular-top"] = "sellers.regular-buyers";
        options.Topics.PerSegment["regular-loyal"] = "sellers.regular-buyers";
        options.Topics.PerSegment["sleeping"] = "sellers.sleeping-buyers";

        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData(15_000, null, true)]
    [InlineData(15_001, null, false)]
    [InlineData(30_000, "120000", true)]
    [InlineData(1_000, "2000", false)]
    public void The_commit_interval_must_leave_the_transaction_timeout_room(int commitIntervalMs, string? transactionTimeoutMs, bool valid)
    {
        var options = new SegmentStreamOptions { CommitIntervalMs = commitIntervalMs };
        if (transactionTimeoutMs is not null)
        {
            options.Client["transaction.timeout.ms"] = transactionTimeoutMs;
        }

        var errors = Validate(options);
        Assert.Equal(valid, errors.Count == 0);
        Assert.All(errors, e => Assert.Contains("CommitIntervalMs", e, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, null, true)]
    [InlineData("269999", null, true)]
    [InlineData("270000", null, false)]
    [InlineData("600000", "630001", true)]
    [InlineData("60000", "90000", false)]
    public void A_restore_waiting_out_an_open_transaction_must_not_outlast_the_rebalance_timeout(string? transactionTimeoutMs, string? maxPollIntervalMs, bool valid)
    {
        var options = new SegmentStreamOptions();
        if (transactionTimeoutMs is not null)
        {
            options.Client["transaction.timeout.ms"] = transactionTimeoutMs;
        }

        if (maxPollIntervalMs is not null)
        {
            options.Client["max.poll.interval.ms"] = maxPollIntervalMs;
        }

        var errors = Validate(options);
        Assert.Equal(valid, errors.Count == 0);
        Assert.All(errors, e => Assert.Contains("max.poll.interval.ms", e, StringComparison.Ordinal));
    }

    private static List<string> Validate(SegmentStreamOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "").ToList();
    }
}
