using Microsoft.Extensions.DependencyInjection;
using StreamSegments.Worker.Hosting;

namespace StreamSegments.Worker.Replay;

internal static class ReplayVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--input"] = "Replay:Input",
        ["--as-of"] = "Replay:AsOf",
        ["--snapshot"] = "Replay:Snapshot",
        ["--changes"] = "Replay:Changes",
        ["--category-changes"] = "Replay:CategoryChanges",
        ["--rejects"] = "Replay:Rejects",
        ["--state-dir"] = "Replay:StateDirectory",
        ["--checkpoint-every"] = "Replay:CheckpointEvery",
        ["--memory-budget"] = "State:MemoryBudgetBytes",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<ReplayOptions>(ReplayOptions.SectionName);
        builder.Services.AddSingleton<ReplayRunner>();
        using var host = builder.Build();
        await host.Services.GetRequiredService<ReplayRunner>().RunAsync(cancellationToken);
        return 0;
    }
}
