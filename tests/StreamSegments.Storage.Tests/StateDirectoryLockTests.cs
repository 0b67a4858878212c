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
    public void A_lock_file_left_behind_by_a_process_that_ended_does_not_hold_the_directory()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, StateDirectoryLock.FileName), "left by a killed process");

        using var hold = StateDirectoryLock.Acquire(directory);
        Assert.Throws<SetupException>(() => StateDirectoryLock.Acquire(directory));
    }
}
