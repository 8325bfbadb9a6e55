using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Modules;
using Xunit;

namespace PFStorer.Graph.Tests.Checkpoints;

/// <summary>
/// The tfjs manifest reader and the face-api name map on small manifests written by the test: dequantization against
/// q·scale + min, the layout conversions against index arithmetic, the load report, and broken files refused by name.
/// </summary>
public sealed class TfjsWeightsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pfstorer-tfjs-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Writes NAME-weights_manifest.json and one shard from (name, shape, quantization or null, bytes).</summary>
    private string Write(params (string Name, int[] Shape, JsonObject? Quantization, byte[] Bytes)[] weights)
    {
        var specs = new JsonArray();
        foreach (var w in weights)
        {
            var spec = new JsonObject { ["name"] = w.Name, ["shape"] = new JsonArray(w.Shape.Select(d => (JsonNode)d).ToArray()), ["dtype"] = "float32" };
            if (w.Quantization != null) spec["quantization"] = w.Quantization;
            specs.Add(spec);
        }
        File.WriteAllBytes(Path.Combine(_dir.FullName, "m.bin"), weights.SelectMany(w => w.Bytes).ToArray());
        var manifest = new JsonArray(new JsonObject { ["paths"] = new JsonArray("m.bin"), ["weights"] = specs });
        string path = Path.Combine(_dir.FullName, "m-weights_manifest.json");
        File.WriteAllText(path, manifest.ToJsonString());
        return path;
    }

    private static byte[] Floats(float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    private static JsonObject Quant(string dtype, double scale, double min) => new() { ["dtype"] = dtype, ["scale"] = scale, ["min"] = min };

    [Fact]
    public void Reads_float32_and_dequantizes_uint8_and_uint16()
    {
        var rng = new Random(7);
        var plain = Enumerable.Range(0, 6).Select(_ => (float)rng.NextDouble()).ToArray();
        byte[] u8 = [0, 1, 200, 255];
        ushort[] u16 = [0, 513, 65535];
        var path = Write(("a", [2, 3], null, Floats(plain)), ("b", [4], Quant("uint8", 0.0123, -1.5), u8),
            ("c", [3], Quant("uint16", 1e-4, 0.25), u16.SelectMany(BitConverter.GetBytes).ToArray()));
        var w = TfjsWeights.Read(path);
        Assert.Equal(["a", "b", "c"], w.Select(x => x.Name));
        Assert.Equal(plain, w[0].Values);
        Assert.Equal(u8.Select(q => (float)(q * 0.0123 + -1.5)), w[1].Values);
        Assert.Equal(u16.Select(q => (float)(q * 1e-4 + 0.25)), w[2].Values);
    }

    [Fact]
    public void Layouts_become_engine_layouts()
    {
        var rng = new Random(3);
        const int kh = 2, kw = 3, cin = 4, cout = 5;
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var conv = new TfjsWeight("x/conv/filters", [kh, kw, cin, cout], Rand(kh * kw * cin * cout));
        var (cs, cv) = FaceApiKeyMap.ToEngine(conv);
        Assert.Equal([cout, cin, kh, kw], cs);
        var dw = new TfjsWeight("x/depthwise_filter", [kh, kw, cin, 1], Rand(kh * kw * cin));
        var (ds, dv) = FaceApiKeyMap.ToEngine(dw);
        Assert.Equal([cin, 1, kh, kw], ds);
        var fc = new TfjsWeight("fc/weights", [cin, cout], Rand(cin * cout));
        var (fs, fv) = FaceApiKeyMap.ToEngine(fc);
        Assert.Equal([cout, cin], fs);
        for (int o = 0; o < cout; o++)
            for (int i = 0; i < cin; i++)
            {
                Assert.Equal(fc.Values[i * cout + o], fv[o * cin + i]);
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                    {
                        Assert.Equal(conv.Values[((y * kw + x) * cin + i) * cout + o], cv[((o * cin + i) * kh + y) * kw + x]);
                        if (o == 0) Assert.Equal(dw.Values[(y * kw + x) * cin + i], dv[(i * kh + y) * kw + x]);
                    }
            }
        var scale = new TfjsWeight("x/scale/weights", [cout], Rand(cout));   // a vector named "weights" stays as is
        Assert.Equal(scale.Values, FaceApiKeyMap.ToEngine(scale).Values);
        Assert.Equal("conv32_1.conv1.conv.filters", FaceApiKeyMap.ModulePath("conv32_1/conv1/conv/filters"));
    }

    private sealed class TwoParams : Module
    {
        public TwoParams()
        {
            Param("bias", 3);
            Param("gain", 2);
        }
    }

    [Fact]
    public void Load_reports_missing_unexpected_and_mismatched_weights()
    {
        var path = Write(("bias", [4], null, Floats([1, 2, 3, 4])), ("extra", [1], null, Floats([9])));
        using var module = new TwoParams();
        var report = FaceApiKeyMap.Load(module, path);
        Assert.False(report.IsExact);
        Assert.Equal(["gain"], report.Missing.Select(m => m.Key));
        Assert.Equal(["extra"], report.Unexpected.Select(m => m.Key));
        Assert.Equal(["bias"], report.Mismatched.Select(m => m.Key));
        Assert.All(module.NamedParameters(), p => Assert.Null(p.Param.Value));   // nothing half-loaded
    }

    [Fact]
    public void Broken_manifests_are_refused_naming_the_file()
    {
        void Refused(string path, string text)
        {
            var e = Assert.Throws<CheckpointFormatException>(() => TfjsWeights.Read(path));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.Contains(text, e.Message);
        }
        Refused(Write(("a", [3], null, Floats([1, 2]))), "shards end at 8");
        Refused(Write(("a", [1], null, Floats([1, 2]))), "the shards hold 8 bytes but the weights describe 4");
        Refused(Write(("a", [2], Quant("int4", 1, 0), [1, 2])), "quantization 'int4'");
        Refused(Write(("a", [1], null, Floats([1])), ("a", [1], null, Floats([2]))), "appears twice");
        string traversal = Path.Combine(_dir.FullName, "t-weights_manifest.json");
        File.WriteAllText(traversal, """[{"paths": ["../secret.bin"], "weights": []}]""");
        Refused(traversal, "plain file name");
        File.WriteAllText(traversal, "{ not json");
        Refused(traversal, "not JSON");
    }
}
