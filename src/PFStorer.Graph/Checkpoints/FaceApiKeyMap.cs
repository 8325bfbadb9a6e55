using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Checkpoints;

/// <summary>
/// The one explicit map from face-api's TensorFlow.js weight names to the engine's face modules (docs/faces.md).
/// Names: a tfjs name's '/' separators become '.', and the face modules register their parameters under face-api's own
/// names ("conv32_1/conv1/conv/filters" → "conv32_1.conv1.conv.filters"), so the path is the name. Layouts: TensorFlow
/// stores convolution filters [kh,kw,in,out] and dense matrices [in,out]; the engine wants [out,in,kh,kw] and [out,in].
/// The leaf name says which conversion applies; every other weight (biases, scales) is a vector and kept as is.
/// </summary>
public static class FaceApiKeyMap
{
    /// <summary>How a weight's TensorFlow layout becomes the engine layout.</summary>
    public enum Layout
    {
        /// <summary>Vectors: unchanged.</summary>
        AsIs,
        /// <summary>Convolution filters [kh,kw,in,out] → [out,in,kh,kw] (also 1×1 pointwise filters).</summary>
        ConvFilter,
        /// <summary>Depthwise filters [kh,kw,C,1] → [C,1,kh,kw].</summary>
        DepthwiseFilter,
        /// <summary>Dense matrices [in,out] → [out,in] (the engine's Linear weight).</summary>
        Dense,
    }

    /// <summary>Leaf names (the part after the last '/') and their layouts. A name whose leaf is not here is vector-only.</summary>
    public static IReadOnlyDictionary<string, Layout> Leaves { get; } = new Dictionary<string, Layout>(StringComparer.Ordinal)
    {
        ["filters"] = Layout.ConvFilter,
        ["pointwise_filter"] = Layout.ConvFilter,
        ["depthwise_filter"] = Layout.DepthwiseFilter,
        ["weights"] = Layout.Dense,   // landmark net fc/weights [256,136]; scale layers' "weights" are vectors (rank 1)
        ["fc"] = Layout.Dense,        // recognition net's bare "fc" [256,128]
    };

    public static string ModulePath(string tfjsName) => tfjsName.Replace('/', '.');

    public static Layout LayoutOf(string tfjsName, int rank)
    {
        string leaf = tfjsName[(tfjsName.LastIndexOf('/') + 1)..];
        if (rank < 2 || !Leaves.TryGetValue(leaf, out var layout)) return Layout.AsIs;
        return layout;
    }

    /// <summary>Shape and values of a weight in the engine layout.</summary>
    public static (int[] Shape, float[] Values) ToEngine(TfjsWeight w)
    {
        var s = w.Shape;
        switch (LayoutOf(w.Name, s.Length))
        {
            case Layout.ConvFilter when s.Length == 4:
                return ([s[3], s[2], s[0], s[1]], Permute4(w.Values, s, [3, 2, 0, 1]));
            case Layout.DepthwiseFilter when s.Length == 4:
                return ([s[2], s[3], s[0], s[1]], Permute4(w.Values, s, [2, 3, 0, 1]));
            case Layout.Dense when s.Length == 2:
                return ([s[1], s[0]], Permute4(w.Values, [s[0], s[1], 1, 1], [1, 0, 2, 3]));
            case Layout.AsIs:
                return (s, w.Values);
            default:
                throw new ArgumentException($"face weight '{w.Name}' has shape [{string.Join(",", s)}], which its layout rule does not fit");
        }
    }

    /// <summary>
    /// Fills <paramref name="module"/> from a face-api manifest and its shards; the report lists what is missing,
    /// unexpected or mis-shaped (those parameters stay unloaded). Parameters land on <paramref name="device"/> (default CPU).
    /// </summary>
    public static LoadReport Load(Module module, string manifestPath, Device? device = null)
    {
        var converted = TfjsWeights.Read(manifestPath).Select(w => (Path: ModulePath(w.Name), Engine: ToEngine(w))).ToList();
        var expected = module.NamedParameters().Select(p => new KeyShape(p.Path, p.Param.ShapeArray()));
        var report = LoadReport.Compare(expected, converted.Select(c => new KeyShape(c.Path, c.Engine.Shape)));
        var bad = report.Missing.Select(m => m.Key).Concat(report.Mismatched.Select(m => m.Key)).ToHashSet(StringComparer.Ordinal);
        var byPath = converted.ToDictionary(c => c.Path, c => c.Engine, StringComparer.Ordinal);
        foreach (var (path, param) in module.NamedParameters())
        {
            if (bad.Contains(path)) continue;
            var host = Tensor.FromArray(byPath[path].Values, byPath[path].Shape);
            if (device == null || device == Device.Cpu) param.Assign(host);
            else using (host) param.Assign(host.To(device.Value));
        }
        return report;
    }

    /// <summary>Reorders a 4-D row-major array: output dim i is input dim <paramref name="order"/>[i].</summary>
    private static float[] Permute4(float[] src, int[] shape, int[] order)
    {
        var dst = new float[src.Length];
        int[] outShape = [shape[order[0]], shape[order[1]], shape[order[2]], shape[order[3]]];
        long[] inStride = [(long)shape[1] * shape[2] * shape[3], (long)shape[2] * shape[3], shape[3], 1];
        long[] stride = [inStride[order[0]], inStride[order[1]], inStride[order[2]], inStride[order[3]]];
        long k = 0;
        for (int a = 0; a < outShape[0]; a++)
            for (int b = 0; b < outShape[1]; b++)
                for (int c = 0; c < outShape[2]; c++)
                    for (int d = 0; d < outShape[3]; d++)
                        dst[k++] = src[a * stride[0] + b * stride[1] + c * stride[2] + d * stride[3]];
        return dst;
    }
}
