using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StreamSegments.Core;
using StreamSegments.Worker.Hosting;

namespace StreamSegments.Worker.Generate;

internal static class GenerateVerb
{
    private static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--output"] = "Generate:Output",
        ["--events"] = "Generate:Events",
        ["--buyers"] = "Generate:Buyers",
        ["--sellers"] = "Generate:Sellers",
        ["--categories"] = "Generate:Categories",
        ["--days"] = "Generate:Days",
        ["--start"] = "Generate:Start",
        ["--seed"] = "Generate:Seed",
        ["--duplicate-rate"] = "Generate:DuplicateRate",
        ["--invalid-rate"] = "Generate:InvalidRate",
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var builder = VerbHost.CreateBuilder(args, Switches);
        builder.Services.AddValidatedOptions<StreamSegments.Worker.Generate.GeneratorOptions>(StreamSegments.Worker.Generate.GeneratorOptions.SectionName);
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<StreamSegments.Worker.Generate.GeneratorOptions>>().Value;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await using var output = options.Output == "-" ? Console.OpenStandardOutput() : CreateOutput(options.Output);
        var last = StreamSegments.Worker.Generate.TrafficGenerator.Write(output, options, cancellationToken);
        await Console.Error.WriteLineAsync(
            $"generate: {options.Events} events, {options.Buyers} buyers, {options.Sellers} sellers, last event at " +
            $"{last.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}, {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private static FileStream CreateOutput(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            return File.Create(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SetupException($"Cannot write '{path}': {ex.Message}", ex);
        }
    }
}
