using System.ComponentModel.DataAnnotations;

namespace StreamSegments.Worker.Demo;

/// <summary>The demo marketplace's options (section <c>Demo</c>).</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    /// <summary>Events of simulated history produced first, as fast as the broker takes them.</summary>
    [Range(0, 100_000_000)]
    public int HistoryEvents { get; set; } = 30_000;

    /// <summary>How far back the history starts; it ends at the moment the demo starts.</summary>
    [Range(1, 3650)]
    public int HistoryDays { get; set; } = 120;

    /// <summary>Live events per second after the history, stamped with the wall clock; 0 stops after the history.</summary>
    [Range(0, 1_000_000)]
    public int EventsPerSecond { get; set; } = 50;

    [Range(1, 10_000_000)]
    public int Buyers { get; set; } = 2_000;

    [Range(1, 100_000)]
    public int Sellers { get; set; } = 20;

    [Range(1, 1_000)]
    public int Categories { get; set; } = 12;

    public int Seed { get; set; } = 7;

    /// <summary>Share of events sent twice (a producer's retry): the worker ignores the copy by its eventId.</summary>
    [Range(0.0, 0.5)]
    public double DuplicateRate { get; set; } = 0.01;

    /// <summary>Share of events followed by a broken copy (cut short): the worker dead-letters it as malformed-json.</summary>
    [Range(0.0, 0.5)]
    public double InvalidRate { get; set; } = 0.001;
}
