using StreamSegments.Core;

namespace StreamSegments.Storage;

/// <summary>
/// One process's exclusive hold on a state directory, for as long as it runs. Two instances sharing one (the
/// default <c>state</c> directory, started twice from one working directory) would open the same tasks' FASTER
/// logs, which assume a single writer, and checkpoint over each other: the damage shows days later, as a
/// restore that brings back stale segments. The second instance is refused at start instead.
/// </summary>
/// <remarks>
/// The hold is the operating system's lock on an open file (<see cref="FileShare.None"/>: <c>flock</c> on Linux),
/// so it ends with the process however the process ends, SIGKILL included, and a stale lock file never blocks
/// a restart. A file beside it keeps the last holder's process id and machine, for the error message.
/// </remarks>
public sealed class StateDirectoryLock : IDisposable
{
    public const string FileName = ".lock";
    private const string HolderFileName = ".lock-holder";

    // How .NET reports a lock another process holds: flock's EWOULDBLOCK as the raw errno (11 on Linux, 35 on macOS),
    // the sharing violation on Windows.
    private static readonly int WouldBlock = OperatingSystem.IsMacOS() ? 35 : 11;
    private const int SharingViolation = unchecked((int)0x80070020);

    private readonly FileStream file;

    private StateDirectoryLock(FileStream file) => this.file = file;

    /// <summary>Takes the directory (creating it), or throws <see cref="SetupException"/> naming who holds it.</summary>
    public static StateDirectoryLock Acquire(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var fullPath = Path.GetFullPath(directory);
        try
        {
            Directory.CreateDirectory(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SetupException($"Cannot use '{fullPath}' as a state directory: {ex.Message}", ex);
        }

        FileStream file;
        try
        {
            file = new FileStream(Path.Combine(fullPath, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex.HResult == WouldBlock || ex.HResult == SharingViolation)
        {
            throw new SetupException(
                $"The state directory '{fullPath}' is in use by another running instance ({ReadHolder(fullPath) ?? "holder unknown"}). " +
                "Give each instance its own state directory (State:Directory, --state-dir).", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A read-only or broken file system is no other instance: say what it is.
            throw new SetupException($"Cannot use '{fullPath}' as a state directory: {ex.Message}", ex);
        }

        // Beside the lock file, not in it: another process cannot read a file this one has locked.
        File.WriteAllText(Path.Combine(fullPath, HolderFileName), $"process {Environment.ProcessId} on {Environment.MachineName} since {DateTimeOffset.UtcNow:O}");
        return new StateDirectoryLock(file);
    }

    public void Dispose() => file.Dispose();

    private static string? ReadHolder(string fullPath)
    {
        try
        {
            return File.ReadAllText(Path.Combine(fullPath, HolderFileName));
        }
        catch (IOException)
        {
            return null;
        }
    }
}
