namespace StreamSegments.Kafka.Processing;

/// <summary>
/// What the processing loop is doing, for those who watch it from other threads (the health probes, the gauges, the
/// watchdog): written by the loop's thread only.
/// </summary>
public sealed class LoopStatus
{
    private string step = "starting";
    private bool ready;
    private bool restoring;
    private long lastProgressTicks = Environment.TickCount64;

    /// <summary>True once the producer is initialised, the group has assigned this instance its tasks and each has restored.</summary>
    public bool IsReady => Volatile.Read(ref ready);

    /// <summary>A task is being restored (checkpoint recovery, changelog tail, store scan): long, and progress all the same.</summary>
    public bool IsRestoring => Volatile.Read(ref restoring);

    /// <summary>
    /// What the loop is doing (polling, processing, committing, checkpointing or restoring a task): for the log line of
    /// a watchdog that finds it stuck, since a storage call that never returns (a full disk) says nothing itself.
    /// </summary>
    public string Step => Volatile.Read(ref step);

    /// <summary>Since the loop last went round or a restore last made progress: with <see cref="IsRestoring"/>, what liveness watches.</summary>
    public TimeSpan SilentFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref lastProgressTicks));

    internal void Progressed() => Volatile.Write(ref lastProgressTicks, Environment.TickCount64);

    internal void Enter(string what) => Volatile.Write(ref step, what);

    internal void Ready(bool value) => Volatile.Write(ref ready, value);

    internal void Restoring(bool value) => Volatile.Write(ref restoring, value);
}
