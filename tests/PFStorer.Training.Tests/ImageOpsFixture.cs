using System.Runtime.InteropServices;
using System.Text.Json;
using PFStorer.Graph.Checkpoints;
using PFStorer.Images;
using Xunit;

namespace PFStorer.Training.Tests;

/// <summary>tests/fixtures/image-ops (OpenCV 4.6 / scikit-image outputs, see fixtures README §5), read once.</summary>
public static class ImageOpsFixture
{
    private static readonly Lazy<Checkpoint> Tensors = new(() => Checkpoint.Open(Fixtures.Path("image-ops", "image_ops.safetensors")));
    private static readonly Lazy<JsonDocument> Json = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("image-ops", "image_ops.json"))));

    public static Image Input => U8("input");

    public static Image U8(string name)
    {
        var (shape, data) = Read(name, CheckpointDType.U8);
        return Image.FromU8(data, shape[1], shape[0], shape[2]);
    }

    public static Image F32(string name)
    {
        var (shape, data) = Read(name, CheckpointDType.F32);
        return Image.FromF32(MemoryMarshal.Cast<byte, float>(data).ToArray(), shape[1], shape[0], shape[2]);
    }

    public static float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(Read(name, CheckpointDType.F32).Data).ToArray();

    public static byte[] Bytes(string name) => Read(name, CheckpointDType.U8).Data;

    /// <summary>metrics.pairs[name][metric] from image_ops.json.</summary>
    public static double Metric(string name, string metric)
        => Json.Value.RootElement.GetProperty("metrics").GetProperty("pairs").GetProperty(name).GetProperty(metric).GetDouble();

    public static IEnumerable<string> MetricPairs()
        => Json.Value.RootElement.GetProperty("metrics").GetProperty("pairs").EnumerateObject().Select(p => p.Name);

    private static (int[] Shape, byte[] Data) Read(string name, CheckpointDType dtype)
    {
        var info = Tensors.Value[name];
        if (info.DType != dtype) throw new InvalidDataException($"image-ops entry '{name}' is {info.DType}, expected {dtype}");
        var data = new MemoryStream();
        lock (Tensors.Value) Tensors.Value.ReadElements(info, dtype, chunk => data.Write(chunk));
        return (info.ShapeArray(), data.ToArray());
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
