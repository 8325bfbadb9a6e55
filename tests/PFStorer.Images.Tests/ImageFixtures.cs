using System.Runtime.InteropServices;
using System.Text.Json;

namespace PFStorer.Images.Tests;

/// <summary>One entry of tests/fixtures/images/manifest.json: a file and the pixels another decoder (or the source) gives.</summary>
public sealed record ImageFixture(string Name, string File, int Height, int Width, int Channels, bool Wide, bool Lossy, string Maker)
{
    public string Path => Fixtures.Path("images", File);

    /// <summary>The expected samples on the 0–255 scale (16-bit ones as v/257, the way our decoder reports them).</summary>
    public float[] Expected()
    {
        var raw = System.IO.File.ReadAllBytes(Fixtures.Path("images", "expected", $"{Name}.{(Wide ? "u16" : "u8")}"));
        return Wide
            ? MemoryMarshal.Cast<byte, ushort>(raw).ToArray().Select(v => v / 257f).ToArray()
            : raw.Select(v => (float)v).ToArray();
    }

    public override string ToString() => Name;
}

/// <summary>The fixtures written by tests/fixtures/images/make_images.py (Pillow / OpenCV), read from its manifest.</summary>
public static class ImageFixtures
{
    private static readonly Lazy<IReadOnlyDictionary<string, ImageFixture>> All = new(Load);

    public static ImageFixture Get(string name) => All.Value[name];

    public static IEnumerable<string> Names(Func<ImageFixture, bool> filter) => All.Value.Values.Where(filter).Select(f => f.Name).Order(StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, ImageFixture> Load()
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllBytes(Fixtures.Path("images", "manifest.json")));
        var result = new Dictionary<string, ImageFixture>();
        foreach (var entry in json.RootElement.GetProperty("fixtures").EnumerateObject())
        {
            var e = entry.Value;
            var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            result[entry.Name] = new ImageFixture(entry.Name, e.GetProperty("file").GetString()!, shape[0], shape[1], shape[2],
                e.GetProperty("dtype").GetString() == "u16", e.GetProperty("lossy").GetBoolean(), e.GetProperty("maker").GetString()!);
        }
        return result;
    }
}
