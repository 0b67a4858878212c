using System.Diagnostics;

namespace StreamSegments.Worker.Tests.Hosting;

/// <summary>The executable's contract with its users: verbs, switches, validation, exit codes.</summary>
public class CommandLineTests
{
    [Fact]
    public async Task A_mistyped_switch_is_an_error_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync("replay", "--inptu", "x.jsonl");

        Assert.Equal(2, exit);
        Assert.Contains("unknown option '--inptu'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_options_are_reported_together_with_exit_code_2()
    {
        var (exit, _, error) = await RunAsync(
            "replay", "--input", "/nonexistent/events.jsonl", "--as-of", "yesterday", "--snapshot", "s", "--changes", "c",
            "--category-changes", "cc", "--Policy:WindowDays", "0");

        Assert.Equal(2, exit);
        Assert.Contains("--as-of 'yesterday' is not an RFC 3339 UTC instant", error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_setting_on_the_command_line_changes_the_rules()
    {
        var work = Path.Combine(Path.GetTempPath(), $"ss-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var input = Path.Combine(work, "in.jsonl");
            await File.WriteAllTextAsync(input, """{"type":"order-paid","eventId":"e1","occurredAt":"2026-01-01T00:00:00Z","buyerId":"b1","sellerId":"s1","orderId":"o1","amount":5}""" + "\n");
            string[] common = ["replay", "--input", input, "--as-of", "2026-03-01T00:00:00.000Z", "--snapshot", Path.Combine(work, "s"),
                "--changes", Path.Combine(work, "c"), "--category-changes", Path.Combine(work, "cc")];

            var (exit, _, error) = await RunAsync([.. common, "--Policy:WindowDays", "30"]);

            Assert.True(exit == 0, error);
            Assert.Contains("2026-01-31T00:00:00.000Z", await File.ReadAllTextAsync(Path.Combine(work, "c")), StringComparison.Ordinal);
            Assert.Contains("replay: 1 lines, 1 events applied", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "StreamSegments.Worker.exe" : "StreamSegments.Worker"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
