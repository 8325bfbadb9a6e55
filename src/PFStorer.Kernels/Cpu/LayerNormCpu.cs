using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>LayerNorm over the last dimension: rows of <c>width</c> elements; weight/bias [width] optional (empty spans).</summary>
public static unsafe class LayerNormCpu
{
    private const long Grain = 1 << 14; // elements per task

    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        Span<float> mean, Span<float> rstd, int width, float eps)
    {
        int rows = Check(x.Length, weight.Length, bias.Length, mean.Length, rstd.Length, width);
        ActivationCpu.CheckSame(x.Length, y.Length, "layer norm");
        fixed (float* px = x, pw = weight, pb = bias, py = y, pm = mean, pr = rstd)
        {
            float* xs = px, ws = pw, bs = pb, ys = py, ms = pm, rs = pr;
            CpuParallel.For(rows, Math.Max(1, Grain / width), (s, e) =>
            {
                var w = new ReadOnlySpan<float>(ws, ws == null ? 0 : width);
                var b = new ReadOnlySpan<float>(bs, bs == null ? 0 : width);
                for (long row = s; row < e; row++)
                {
                    var xr = new ReadOnlySpan<float>(xs + row * width, width);
                    var yr = new Span<float>(ys + row * width, width);
                    double m = Moments.Sum(xr) / width;
                    float r = Moments.Rstd(Moments.SumSquaredDeviation(xr, (float)m) / width, eps);
                    ms[row] = (float)m;
                    rs[row] = r;
                    ElementwiseCpu.Affine(xr, r, -(float)m * r, yr);
                    if (!w.IsEmpty) TensorPrimitives.Multiply(yr, w, yr);
                    if (!b.IsEmpty) TensorPrimitives.Add(yr, b, yr);
                }
            });
        }
    }

    /// <summary>
    /// With x̂ = (x − mean)·rstd and gw = dy·w: dx = rstd·(gw − mean(gw) − x̂·mean(gw·x̂)) per row,
    /// dweight = Σ_rows dy·x̂, dbias = Σ_rows dy. Empty gradient spans are skipped.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dweight, Span<float> dbias, int width)
    {
        int rows = Check(x.Length, weight.Length, 0, mean.Length, rstd.Length, width);
        ActivationCpu.CheckSame(x.Length, dy.Length, "layer norm backward");
        if (!dx.IsEmpty) ActivationCpu.CheckSame(x.Length, dx.Length, "layer norm backward dx");
        if (!dweight.IsEmpty) ActivationCpu.CheckSame(width, dweight.Length, "layer norm backward dweight");
        if (!dbias.IsEmpty) ActivationCpu.CheckSame(width, dbias.Length, "layer norm backward dbias");
        bool needDw = !dweight.IsEmpty, needDb = !dbias.IsEmpty;
        if (dx.IsEmpty && !needDw && !needDb) return;

        // dweight/dbias sum over rows: each task accumulates its own partial row sums, merged under a lock at its end.
        var totalDw = needDw ? new double[width] : null;
        var totalDb = needDb ? new double[width] : null;
        var gate = new Lock();
        fixed (float* px = x, pw = weight, pm = mean, pr = rstd, pdy = dy, pdx = dx)
        {
            float* xs = px, ws = pw, ms = pm, rs = pr, dys = pdy, dxs = pdx;
            CpuParallel.For(rows, Math.Max(1, Grain / width), (s, e) =>
            {
                var w = new ReadOnlySpan<float>(ws, ws == null ? 0 : width);
                var xhat = new float[width];
                var gw = new float[width];
                var partDw = needDw ? new float[width] : null;
                var partDb = needDb ? new float[width] : null;
                for (long row = s; row < e; row++)
                {
                    float m = ms[row], r = rs[row];
                    var dyr = new ReadOnlySpan<float>(dys + row * width, width);
                    ElementwiseCpu.Affine(new ReadOnlySpan<float>(xs + row * width, width), r, -m * r, xhat);
                    if (partDw != null) TensorPrimitives.MultiplyAdd(dyr, xhat, partDw, partDw);
                    if (partDb != null) TensorPrimitives.Add(partDb, dyr, partDb);
                    if (dxs == null) continue;
                    ReadOnlySpan<float> g = dyr;
                    if (!w.IsEmpty)
                    {
                        TensorPrimitives.Multiply(dyr, w, gw);
                        g = gw;
                    }
                    float meanG = (float)(Moments.Sum(g) / width);
                    float meanGx = TensorPrimitives.Dot(g, xhat) / width;
                    var dxr = new Span<float>(dxs + row * width, width);
                    ElementwiseCpu.Affine(xhat, -r * meanGx, -r * meanG, dxr);
                    TensorPrimitives.MultiplyAdd(g, r, dxr, dxr);
                }
                lock (gate)
                {
                    for (int i = 0; i < width; i++)
                    {
                        if (partDw != null) totalDw![i] += partDw[i];
                        if (partDb != null) totalDb![i] += partDb[i];
                    }
                }
            });
        }
        for (int i = 0; i < width; i++)
        {
            if (needDw) dweight[i] = (float)totalDw![i];
            if (needDb) dbias[i] = (float)totalDb![i];
        }
    }

    private static int Check(int xLen, int wLen, int bLen, int meanLen, int rstdLen, int width)
    {
        if (width <= 0 || xLen % width != 0) throw new ArgumentException($"layer norm: {xLen} elements are not rows of {width}");
        if (wLen != 0 && wLen != width) throw new ArgumentException($"layer norm: weight has {wLen} elements for width {width}");
        if (bLen != 0 && bLen != width) throw new ArgumentException($"layer norm: bias has {bLen} elements for width {width}");
        int rows = xLen / width;
        if (meanLen != rows || rstdLen != rows) throw new ArgumentException($"layer norm: mean/rstd need {rows} entries");
        return rows;
    }
}
