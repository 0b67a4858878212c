using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamSegments.Core.Policy;
using StreamSegments.Storage;

namespace StreamSegments.Worker.Hosting;

/// <summary>
/// Builds the host every verb runs in: configuration from appsettings.json, environment variables
/// (<c>Section__Key</c>) and the command line (the verb's switches, or any <c>--Section:Key value</c>),
/// validated options, and logging to stderr so that stdout stays clean for data.
/// </summary>
internal static class VerbHost
{
    public static HostApplicationBuilder CreateBuilder(string[] args, IReadOnlyDictionary<string, string> switches)
    {
        CheckSwitches(args, switches);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        Configure(builder, args, switches);
        return builder;
    }

    /// <summary>The same, as a web application: for the verb that serves HTTP (health probes, metrics).</summary>
    public static WebApplicationBuilder CreateWebBuilder(string[] args, IReadOnlyDictionary<string, string> switches)
    {
        CheckSwitches(args, switches);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        Configure(builder, args, switches);
        return builder;
    }

    private static void Configure(IHostApplicationBuilder builder, string[] args, IReadOnlyDictionary<string, string> switches)
    {
        builder.Configuration.AddCommandLine(args, switches.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        builder.Services.AddValidatedOptions<SegmentPolicy>(SegmentPolicy.SectionName);
        builder.Services.AddValidatedOptions<StateStoreOptions>(StateStoreOptions.SectionName);
    }

    /// <summary>
    /// Binds <typeparamref name="T"/> to a configuration section, validated at start: data annotations,
    /// IValidatableObject, and no key in the section that binds to nothing (<see cref="KnownSettingsValidation{T}"/>).
    /// </summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services, string section)
        where T : class
    {
        services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(provider => new KnownSettingsValidation<T>(section, provider.GetRequiredService<IConfiguration>()));
        return services;
    }

    /// <summary>
    /// A mistyped switch, a stray word or a switch without its value is an error, not a setting nobody reads. So is a
    /// <c>--Section:Key</c> of a section the verb does not read (its switches' sections, <c>Policy</c>, <c>State</c>,
    /// <c>Logging</c>); a mistyped key of a section it reads fails that section's validation. A repeated switch is
    /// allowed, as in most tools: the last one wins.
    /// </summary>
    private static void CheckSwitches(string[] args, IReadOnlyDictionary<string, string> switches)
    {
        var sections = switches.Values.Select(SectionOf).Concat([SegmentPolicy.SectionName, StateStoreOptions.SectionName, "Logging"])
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];

            // .NET's command line also takes Section:Key=value without dashes.
            var bare = !arg.StartsWith('-');
            if (bare && !(arg.Contains(':', StringComparison.Ordinal) && arg.Contains('=', StringComparison.Ordinal)))
            {
                throw new UsageException($"unexpected argument '{arg}' (options are --name value)");
            }

            var name = arg.Split('=', 2)[0];
            if (bare || !switches.ContainsKey(name))
            {
                if (!bare && !(name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal)))
                {
                    throw new UsageException($"unknown option '{name}'");
                }

                var section = SectionOf(name.TrimStart('-'));
                if (!sections.Contains(section))
                {
                    throw new UsageException($"unknown option '{name}': this verb reads no settings of section '{section}' (it reads {string.Join(", ", sections.Order(StringComparer.Ordinal))})");
                }
            }

            if (!arg.Contains('=', StringComparison.Ordinal) && ++i == args.Length)
            {
                throw new UsageException($"option '{name}' needs a value");
            }
        }
    }

    private static string SectionOf(string setting) => setting.Split(':', 2)[0];
}

internal sealed class UsageException(string message) : Exception(message);
