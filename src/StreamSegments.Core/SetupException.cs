namespace StreamSegments.Core;

/// <summary>
/// A run refused before it started because of how it was set up: topics missing or partitioned unlike the
/// inputs, a state directory another instance holds, a replay state directory that belongs to another input or
/// policy. Restarting it unchanged cannot help, so the verbs print the message and exit with code 2 (bad
/// options), not 1 (a fault a restart recovers from).
/// </summary>
public sealed class SetupException : Exception
{
    public SetupException()
    {
    }

    public SetupException(string message)
        : base(message)
    {
    }

    public SetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
