using PFStorer.Graph.Sampling;

namespace PFStorer.Graph.Tests.Sampling;

/// <summary>
/// A stand-in ε-model whose output depends on the whole window it sees (window means and positions inside the window),
/// on the context and on t, so tiled and untiled sampling differ and a wrong crop, blend or CFG order shows.
/// <see cref="Reference"/> is the same function in float64 on plain arrays. It allocates a pooled scratch tensor per call,
/// as a real model's activations do.
/// </summary>
internal sealed class TileSensitiveModel : INoisePredictor
{
    public int Calls { get; private set; }

    public void PredictNoise(Tensor x, Tensor lqLatent, Tensor context, long timestep, Tensor eps)
    {
        Calls++;
        int n = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        using var scratch = Tensor.Empty(x.Shape);
        var xs = x.ToFloatArray();
        var ls = lqLatent.ToFloatArray();
        var cs = context.ToFloatArray();
        var result = scratch.Span<float>();
        int ctx = context.Dim(1) * context.Dim(2);
        for (int b = 0; b < n; b++)
        {
            var r = Reference(Slice(xs, b, c * h * w), Slice(ls, b, c * h * w), Slice(cs, b, ctx), timestep, c, h, w);
            for (int i = 0; i < r.Length; i++) result[b * c * h * w + i] = (float)r[i];
        }
        x.Backend.Copy(scratch, eps);
    }

    private static double[] Slice(float[] a, int b, int n) => a.AsSpan(b * n, n).ToArray().Select(v => (double)v).ToArray();

    /// <summary>ε for one batch entry: x, lq [c,h,w], context [tokens·width].</summary>
    public static double[] Reference(double[] x, double[] lq, double[] context, long t, int c, int h, int w)
    {
        double ctx = context.Average();
        var eps = new double[c * h * w];
        for (int ch = 0; ch < c; ch++)
        {
            double lqMean = 0;
            for (int i = 0; i < h * w; i++) lqMean += lq[ch * h * w + i];
            lqMean /= h * w;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                {
                    int i = (ch * h + y) * w + xx;
                    eps[i] = 0.3 * Math.Tanh(x[i]) + 0.2 * lq[i] + 0.5 * ctx + 0.05 * Math.Cos(0.01 * t)
                        + 0.4 * lqMean + 0.1 * ((double)y / h - (double)xx / w) + 0.05 * ch;
                }
        }
        return eps;
    }
}
