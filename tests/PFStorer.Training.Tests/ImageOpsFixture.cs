using Xunit;
using System.Runtime.InteropServices;
using System.Text.Json;
using PFStorer.Graph.Imaging;

namespace PFStorer.Training.Tests;

/// <summary>
/// tests/fixtures/image-ops (OpenCV 4.6 / scikit-image outputs, see fixtures README §5), read once. The safetensors
/// reader here handles only what this fixture holds (U8 and F32 HWC entries, little-endian).
/// </summary>
public static class ImageOpsFixture
{
    private static readonly Lazy<(Dictionary<string, (string Dtype, int[] Shape, byte[] Data)> Entries, JsonDocument Json)> Loaded = new(Load);

    public static Image Input => U8("input");

    public static Image U8(string name)
    {
        var (dtype, shape, data) = Entry(name, "U8");
        return Image.FromU8(data, shape[1], shape[0], shape[2]);
    }

    public static Image F32(string name)
    {
        var (_, shape, data) = Entry(name, "F32");
        return Image.FromF32(MemoryMarshal.Cast<byte, float>(data).ToArray(), shape[1], shape[0], shape.Length > 2 ? shape[2] : 1);
    }

    public static float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(Entry(name, "F32").Data).ToArray();

    public static byte[] Bytes(string name) => Entry(name, "U8").Data;

    /// <summary>metrics.pairs[name][metric] from image_ops.json.</summary>
    public static double Metric(string name, string metric)
        => Loaded.Value.Json.RootElement.GetProperty("metrics").GetProperty("pairs").GetProperty(name).GetProperty(metric).GetDouble();

    public static IEnumerable<string> MetricPairs()
        => Loaded.Value.Json.RootElement.GetProperty("metrics").GetProperty("pairs").EnumerateObject().Select(p => p.Name);

    private static (string Dtype, int[] Shape, byte[] Data) Entry(string name, string dtype)
    {
        if (!Loaded.Value.Entries.TryGetValue(name, out var e)) throw new KeyNotFoundException($"image-ops fixture has no entry '{name}'");
        if (e.Dtype != dtype) throw new InvalidDataException($"image-ops entry '{name}' is {e.Dtype}, expected {dtype}");
        return e;
    }

    private static (Dictionary<string, (string, int[], byte[])>, JsonDocument) Load()
    {
        var bytes = File.ReadAllBytes(Fixtures.Path("image-ops", "image_ops.safetensors"));
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var entries = new Dictionary<string, (string, int[], byte[])>();
        foreach (var p in header.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            int start = (int)(8 + headerLength + offsets[0]), length = (int)(offsets[1] - offsets[0]);
            entries[p.Name] = (p.Value.GetProperty("dtype").GetString()!, shape, bytes.AsSpan(start, length).ToArray());
        }
        var json = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("image-ops", "image_ops.json")));
        return (entries, json);
    }

    /// <summary>Largest |a − b| over all samples (images of the same size and channel count).</summary>
    public static double MaxAbsDiff(Image a, Image b)
    {
        Assert.Equal((b.Width, b.Height, b.Channels), (a.Width, a.Height, a.Channels));
        var fa = a.ToF32().F32!;
        var fb = b.ToF32().F32!;
        double max = 0;
        for (int i = 0; i < fa.Length; i++) max = Math.Max(max, Math.Abs(fa[i] - fb[i]));
        return max;
    }
}
