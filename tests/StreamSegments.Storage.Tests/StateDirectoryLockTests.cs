using StreamSegments.Core;
namespace StreamSegments.Storage.Tests;

public sealed class StateDirectoryLockTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"ss-lock-{Guid.NewGuid():N}");

    public void Dispose() => FasterBuyerStateStore.DeleteDirectory(directory);

    [Fact]
    public void A_held_directory_is_refused_by_any_path_to_it_naming_the_holder_until_released()
    {
        var first = StateDirectoryLock.Acquire(directory);

        var viaOtherPath = Path.Combine(directory, "..", Path.GetFileName(directory));
        var refused = Assert.Throws<SetupException>(() => StateDirectoryLock.Acquire(viaOtherPath));
        Assert.Contains($"'{Path.GetFullPath(directory)}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"process {Environment.ProcessId} on {Environment.MachineName}", refused.Message, StringComparison.Ordinal);

        first.Dispose();
        using var second = StateDirectoryLock.Acquire(viaOtherPath);
        Assert.Throws<SetupException>(() => StateDirectoryLock.Acquire(directory));
    }

    [Fact]
    public void A_lock_file_that_cannot_be_opened_is_reported_as_what_it_is_not_as_another_instance()
    {
        // A link to itself fails to open (ELOOP) as a read-only or broken file system does: an I/O error, no holder.
        Directory.CreateDirectory(directory);
        var lockFile = Path.Combine(directory, StateDirectoryLock.FileName);
        File.CreateSymbolicLink(lockFile, lockFile);

        var refused = Assert.Throws<SetupException>(() => StateDirectoryLock.Acquire(directory));
        Assert.StartsWith($"Cannot use '{Path.GetFullPath(directory)}' as a state directory: ", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("another running instance", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lock_file_left_behind_by_a_process_that_ended_does_not_hold_the_directory()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, StateDirectoryLock.FileName), "left by a killed process");

        using var hold = StateDirectoryLock.Acquire(directory);
        Assert.Throws<SetupException>(() => StateDirectoryLock.Acquire(directory));
    }
}
