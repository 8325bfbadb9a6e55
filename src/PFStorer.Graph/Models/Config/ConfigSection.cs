using System.Globalization;
using System.Text.Json;

namespace PFStorer.Graph.Models;

/// <summary>
/// One object of a config.json (e.g. `unet_config.params`), read with errors that name the file, the object and the
/// key. An absent or null key takes the upstream default that the caller passes; <c>Expect…</c> refuses a value the
/// engine does not reproduce (docs/config.md lists them).
/// </summary>
internal sealed class ConfigSection(string file, string name, JsonElement element)
{
    public InvalidDataException Error(string key, string problem) => new($"{file}: {name}.{key} {problem}");

    public static ConfigSection Root(string file, JsonElement root) => new(file, "", root);

    /// <summary>The object at <paramref name="keys"/> below this one; it must exist.</summary>
    public ConfigSection Section(params string[] keys)
    {
        var e = element;
        string path = name;
        foreach (var k in keys)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(k, out e)) throw new InvalidDataException($"{file}: missing '{k}' (in {(path.Length == 0 ? "the top level" : path)})");
            path = path.Length == 0 ? k : $"{path}.{k}";
        }
        return new ConfigSection(file, path, e);
    }

    public bool Has(string key) => element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public bool IsList(string key) => Has(key) && element.GetProperty(key).ValueKind == JsonValueKind.Array;

    public ConfigSection? OptionalSection(string key) => Has(key) ? Section(key) : null;

    public int Int(string key, int? fallback = null) => Value(key, fallback, v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null, "an integer");

    public float Float(string key, float fallback) => Value<float>(key, fallback, v => v.ValueKind == JsonValueKind.Number ? v.GetSingle() : null, "a number");

    public bool Bool(string key, bool fallback) => Value<bool>(key, fallback, v => v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null, "true or false");

    public string String(string key, string fallback)
    {
        if (!Has(key)) return fallback;
        var v = element.GetProperty(key);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(key, "is not a string");
    }

    public int[] Ints(string key, int[]? fallback = null) => IntsOrNull(key) ?? fallback ?? throw Error(key, "is missing (a list of integers)");

    public int[]? IntsOrNull(string key) => List(key, v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : (int?)null, "integers");

    public bool[]? BoolsOrNull(string key) => List(key, v => v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : (bool?)null, "booleans");

    /// <summary>One integer for every level, or a list with one per level (as upstream's num_res_blocks).</summary>
    public int[] IntPerLevel(string key, int levels)
    {
        if (!IsList(key)) return Enumerable.Repeat(Int(key), levels).ToArray();
        var list = Ints(key);
        return list.Length == levels ? list : throw Error(key, $"has {list.Length} entries for {levels} levels");
    }

    /// <summary>Refuses a value other than <paramref name="supported"/>; an absent key counts as <paramref name="upstreamDefault"/>.</summary>
    public void Expect<T>(string key, T supported, T upstreamDefault, string why) where T : IEquatable<T>
    {
        T value = upstreamDefault switch
        {
            bool b => (T)(object)Bool(key, b),
            int i => (T)(object)Int(key, i),
            float f => (T)(object)Float(key, f),
            string s => (T)(object)String(key, s),
            _ => throw new ArgumentException($"unsupported config value type {typeof(T).Name}"),
        };
        if (!value.Equals(supported))
            throw Error(key, $"= {Format(value)} is not supported ({why}; supported: {Format(supported)})");
    }

    /// <summary>Refuses any value but null or absence (upstream's default None).</summary>
    public void ExpectNull(string key, string why)
    {
        if (Has(key)) throw Error(key, $"= {element.GetProperty(key).GetRawText()} is not supported ({why}; supported: null)");
    }

    private T Value<T>(string key, T? fallback, Func<JsonElement, T?> read, string what) where T : struct
    {
        if (!element.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback ?? throw Error(key, $"is missing ({what})");
        return read(v) ?? throw Error(key, $"is not {what}");
    }

    private T[]? List<T>(string key, Func<JsonElement, T?> read, string what) where T : struct
    {
        if (!Has(key)) return null;
        var v = element.GetProperty(key);
        if (v.ValueKind != JsonValueKind.Array) throw Error(key, $"is not a list of {what}");
        return v.EnumerateArray().Select(x => read(x) ?? throw Error(key, $"holds a value that is not one of the {what}")).ToArray();
    }

    private static string Format<T>(T value) => value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => $"'{value}'",
    };
}
