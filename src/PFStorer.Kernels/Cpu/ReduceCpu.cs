using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Reductions over the middle axis of x viewed as [outer, n, inner] (the reduced dim with everything before and after
/// it flattened) and their adjoints.
/// </summary>
public static unsafe class ReduceCpu
{
    private const long Grain = 1 << 15;

    /// <summary>y[o, i] = Σ_k x[o, k, i], times <paramref name="scale"/> (1/n gives the mean).</summary>
    public static void Sum(ReadOnlySpan<float> x, Span<float> y, long outer, int n, long inner, float scale)
    {
        Check(x.Length, y.Length, outer, n, inner, "sum");
        fixed (float* px = x, py = y)
        {
            float* xs = px, ys = py;
            if (inner == 1)
            {
                CpuParallel.For(outer, Math.Max(1, Grain / Math.Max(1, n)), (s, e) =>
                {
                    for (long o = s; o < e; o++) ys[o] = TensorPrimitives.Sum(new ReadOnlySpan<float>(xs + o * n, n)) * scale;
                });
                return;
            }
            // Accumulate whole rows of `inner` so the inner loop is a contiguous vector add; split across outer × inner tiles.
            long tile = Math.Min(inner, 4096);
            long tiles = (inner + tile - 1) / tile;
            CpuParallel.For(outer * tiles, Math.Max(1, Grain / Math.Max(1, n * tile)), (s, e) =>
            {
                for (long t = s; t < e; t++)
                {
                    long o = t / tiles, i0 = t % tiles * tile;
                    int len = (int)Math.Min(tile, inner - i0);
                    var acc = new Span<float>(ys + o * inner + i0, len);
                    acc.Clear();
                    for (int k = 0; k < n; k++) TensorPrimitives.Add(acc, new ReadOnlySpan<float>(xs + (o * n + k) * inner + i0, len), acc);
                    if (scale != 1f) TensorPrimitives.Multiply(acc, scale, acc);
                }
            });
        }
    }

    /// <summary>y[o, i] = max_k x[o, k, i]; arg[o, i] = the first k reaching it (NaN counts as the maximum, like PyTorch).</summary>
    public static void Max(ReadOnlySpan<float> x, Span<float> y, Span<int> arg, long outer, int n, long inner)
    {
        Check(x.Length, y.Length, outer, n, inner, "max");
        if (n == 0) throw new ArgumentException("max over an empty dimension");
        if (!arg.IsEmpty && arg.Length != y.Length) throw new ArgumentException($"max: argIndex has {arg.Length} entries for {y.Length} outputs");
        fixed (float* px = x, py = y)
        fixed (int* pa = arg)
        {
            float* xs = px, ys = py;
            int* args = pa;
            CpuParallel.For(outer * inner, Math.Max(1, Grain / n), (s, e) =>
            {
                for (long oi = s; oi < e; oi++)
                {
                    long o = oi / inner, i = oi % inner;
                    float* col = xs + o * n * inner + i;
                    float best = col[0];
                    int at = 0;
                    for (int k = 1; k < n && !float.IsNaN(best); k++)
                    {
                        float v = col[k * inner];
                        if (v > best || float.IsNaN(v)) { best = v; at = k; }
                    }
                    ys[oi] = best;
                    if (args != null) args[oi] = at;
                }
            });
        }
    }

    /// <summary>Adjoint of <see cref="Sum"/>: dx[o, k, i] = dy[o, i]·scale.</summary>
    public static void SumBackward(ReadOnlySpan<float> dy, Span<float> dx, long outer, int n, long inner, float scale)
    {
        Check(dx.Length, dy.Length, outer, n, inner, "sum backward");
        fixed (float* pdy = dy, pdx = dx)
        {
            float* dys = pdy, dxs = pdx;
            CpuParallel.For(outer * n, Math.Max(1, Grain / inner), (s, e) =>
            {
                for (long ok = s; ok < e; ok++)
                {
                    var src = new ReadOnlySpan<float>(dys + ok / n * inner, (int)inner);
                    TensorPrimitives.Multiply(src, scale, new Span<float>(dxs + ok * inner, (int)inner));
                }
            });
        }
    }

    /// <summary>Adjoint of <see cref="Max"/>: dy goes to the recorded argmax, zero elsewhere.</summary>
    public static void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> arg, Span<float> dx, long outer, int n, long inner)
    {
        Check(dx.Length, dy.Length, outer, n, inner, "max backward");
        if (arg.Length != dy.Length) throw new ArgumentException($"max backward: argIndex has {arg.Length} entries for {dy.Length} gradients");
        dx.Clear();
        for (long oi = 0; oi < dy.Length; oi++)
        {
            int k = arg[(int)oi];
            if ((uint)k >= (uint)n) throw new ArgumentException($"max backward: argIndex {k} outside [0, {n})");
            dx[(int)((oi / inner * n + k) * inner + oi % inner)] = dy[(int)oi];
        }
    }

    private static void Check(int xLen, int yLen, long outer, int n, long inner, string op)
    {
        if (outer * n * inner != xLen || outer * inner != yLen)
            throw new ArgumentException($"{op}: {xLen} → {yLen} elements do not match [{outer}, {n}, {inner}]");
    }
}
