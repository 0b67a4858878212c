using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace StreamSegments.Worker.Hosting;

/// <summary>
/// Fails the validation of <typeparamref name="T"/> for every key under its configuration section that binds to no
/// property: <c>--Policy:WindowDay 60</c> or <c>Kafka__BootstrapServer</c> would otherwise run with the default,
/// silently. Dictionaries (<c>Kafka:Client:*</c>) take any key.
/// </summary>
internal sealed class KnownSettingsValidation<T>(string section, IConfiguration configuration) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options) => Validate(configuration, section);

    /// <summary>The same check, for a verb that reads the section before its host is built.</summary>
    public static void ThrowIfUnknown(IConfiguration configuration, string section)
    {
        var result = Validate(configuration, section);
        if (result.Failed)
        {
            throw new OptionsValidationException(section, typeof(T), result.Failures);
        }
    }

    private static ValidateOptionsResult Validate(IConfiguration configuration, string section)
    {
        var unknown = UnknownKeys(configuration.GetSection(section), typeof(T)).ToList();
        return unknown.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(unknown.Select(key => $"{key} is not a setting (mistyped?)"));
    }

    private static IEnumerable<string> UnknownKeys(IConfigurationSection section, Type type)
    {
        foreach (var child in section.GetChildren())
        {
            var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property?.GetMethod is not { IsPublic: true } || (IsScalar(property.PropertyType) && property.SetMethod is not { IsPublic: true }))
            {
                yield return child.Path;
                continue;
            }

            foreach (var key in UnknownKeysOf(child, property.PropertyType))
            {
                yield return key;
            }
        }
    }

    private static IEnumerable<string> UnknownKeysOf(IConfigurationSection section, Type type)
    {
        // As the binder decides: a type converted from a string is a value, and a value has no keys below it.
        if (IsScalar(type))
        {
            return section.GetChildren().Select(child => child.Path);
        }

        if (type.IsAssignableTo(typeof(IDictionary)) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)))
        {
            return [];
        }

        if (type.IsAssignableTo(typeof(IEnumerable)) && (type.IsArray ? type.GetElementType() : type.GetGenericArguments().SingleOrDefault()) is { } element)
        {
            return section.GetChildren().SelectMany(child => int.TryParse(child.Key, out _) ? UnknownKeysOf(child, element) : [child.Path]);
        }

        return UnknownKeys(section, type);
    }

    private static bool IsScalar(Type type) => TypeDescriptor.GetConverter(Nullable.GetUnderlyingType(type) ?? type).CanConvertFrom(typeof(string));
}
