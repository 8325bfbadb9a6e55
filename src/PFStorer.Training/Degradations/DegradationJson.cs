using System.Text.Json;
using System.Text.Json.Serialization;

namespace PFStorer.Training.Degradations;

/// <summary>The sidecar format of <see cref="DegradationParameters"/>: camelCase, enums as names, nulls omitted.</summary>
public static class DegradationJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
