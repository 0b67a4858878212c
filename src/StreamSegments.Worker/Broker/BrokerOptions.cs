using System.ComponentModel.DataAnnotations;
using StreamSegments.Kafka.Processing;

namespace StreamSegments.Worker.Broker;

/// <summary>The <c>broker</c> verb's options (section <c>Broker</c>).</summary>
public sealed class BrokerOptions : IValidatableObject
{
    public const string SectionName = "Broker";

    /// <summary>Address to listen on; loopback by default, so nothing outside this machine can reach it.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(0, 65535)]
    public int Port { get; set; } = 9092;

    /// <summary>Partitions of every topic (the input topics are co-partitioned, so they must be equal).</summary>
    [Range(1, 1000)]
    public int Partitions { get; set; } = 6;

    /// <summary>Topics to create; the defaults are the worker's default topics (README, "Settings") and the current-state tables' suggested names.</summary>
    [MinLength(1)]
    public List<string> Topics { get; set; } = [.. new TopicOptions().All, .. TopicOptions.SuggestedTables];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!System.Net.IPAddress.TryParse(Host, out _))
        {
            yield return new ValidationResult($"--host '{Host}' is not an IP address (127.0.0.1 for this machine only, 0.0.0.0 for every interface).", [nameof(Host)]);
        }
    }
}
