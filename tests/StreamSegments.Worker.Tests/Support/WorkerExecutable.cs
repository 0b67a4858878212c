using System.Diagnostics;

namespace StreamSegments.Worker.Tests.Support;

/// <summary>The worker executable built beside the tests, started as a child process with its output redirected.</summary>
public static class WorkerExecutable
{
    public static Process Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        Process.Start(StartInfo(arguments, environment)) ?? throw new InvalidOperationException("could not start the worker");

    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var worker = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "StreamSegments.Worker.exe" : "StreamSegments.Worker");
        var info = new ProcessStartInfo(worker)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }
}
