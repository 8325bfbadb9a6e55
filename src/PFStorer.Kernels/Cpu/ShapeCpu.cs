using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>Data movement: concatenation (as strided block copies) and nearest-neighbour 2× upsampling with its adjoint.</summary>
public static unsafe class ShapeCpu
{
    private const long Grain = 1 << 15;

    /// <summary>
    /// Copies <c>outer</c> blocks of <c>block</c> elements from <paramref name="source"/> (packed) into
    /// <paramref name="destination"/> at <c>offset + i·pitch</c>: one input's share of a concatenation, viewed as [outer, size·inner].
    /// </summary>
    public static void CopyBlocks(ReadOnlySpan<float> source, Span<float> destination, long outer, long block, long pitch, long offset)
    {
        if (source.Length != outer * block) throw new ArgumentException($"copy blocks: source has {source.Length} elements, not {outer}·{block}");
        if (outer > 0 && offset + (outer - 1) * pitch + block > destination.Length)
            throw new ArgumentException($"copy blocks: {outer} blocks of {block} at pitch {pitch} from {offset} overrun {destination.Length}");
        fixed (float* ps = source, pd = destination)
        {
            float* src = ps, dst = pd;
            CpuParallel.For(outer, Math.Max(1, Grain / Math.Max(1, block)), (s, e) =>
            {
                for (long i = s; i < e; i++)
                    new ReadOnlySpan<float>(src + i * block, (int)block).CopyTo(new Span<float>(dst + offset + i * pitch, (int)block));
            });
        }
    }

    /// <summary>y[p, 2i + a, 2j + b] = x[p, i, j] for planes p of [h, w].</summary>
    public static void Upsample2x(ReadOnlySpan<float> x, Span<float> y, long planes, int h, int w)
    {
        if (x.Length != planes * h * w || y.Length != 4 * x.Length)
            throw new ArgumentException($"upsample2x: {x.Length} → {y.Length} elements for {planes} planes of {h}×{w}");
        fixed (float* px = x, py = y)
        {
            float* xs = px, ys = py;
            CpuParallel.For(planes * h, Math.Max(1, Grain / (4L * w)), (s, e) =>
            {
                for (long row = s; row < e; row++)
                {
                    float* src = xs + row * w;
                    float* top = ys + row * 4 * w; // output rows 2i and 2i+1 of this plane are adjacent: 2w each
                    int j = 0;
                    for (; j <= w - Vector128<float>.Count; j += Vector128<float>.Count)
                    {
                        var v = Vector128.Load(src + j);
                        Vector128.Shuffle(v, Vector128.Create(0, 0, 1, 1)).Store(top + 2 * j);
                        Vector128.Shuffle(v, Vector128.Create(2, 2, 3, 3)).Store(top + 2 * j + 4);
                    }
                    for (; j < w; j++) top[2 * j] = top[2 * j + 1] = src[j];
                    new ReadOnlySpan<float>(top, 2 * w).CopyTo(new Span<float>(top + 2 * w, 2 * w));
                }
            });
        }
    }

    /// <summary>The adjoint: dx[p, i, j] = Σ over the 2×2 block of dy it was copied to.</summary>
    public static void Upsample2xBackward(ReadOnlySpan<float> dy, Span<float> dx, long planes, int h, int w)
    {
        if (dx.Length != planes * h * w || dy.Length != 4 * dx.Length)
            throw new ArgumentException($"upsample2x backward: {dy.Length} → {dx.Length} elements for {planes} planes of {h}×{w}");
        fixed (float* pdy = dy, pdx = dx)
        {
            float* dys = pdy, dxs = pdx;
            CpuParallel.For(planes * h, Math.Max(1, Grain / (4L * w)), (s, e) =>
            {
                var pair = new float[2 * w];
                for (long row = s; row < e; row++)
                {
                    float* top = dys + row * 4 * w;
                    TensorPrimitives.Add(new ReadOnlySpan<float>(top, 2 * w), new ReadOnlySpan<float>(top + 2 * w, 2 * w), pair);
                    float* o = dxs + row * w;
                    for (int j = 0; j < w; j++) o[j] = pair[2 * j] + pair[2 * j + 1];
                }
            });
        }
    }
}
