using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Pointwise activations and their derivatives: SiLU (x·σ(x)), ReLU and the exact erf GELU, plus GEGLU
/// (value·GELU(gate) over the two halves of the last dimension). Outputs must not overlap the inputs.
/// </summary>
public static unsafe class ActivationCpu
{
    // Below this many elements a parallel split is not worth its scheduling cost.
    private const long Grain = 1 << 15;

    public static void SiLU(ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSame(x.Length, y.Length, "silu");
        InParallel(x, y, (xr, yr) =>
        {
            TensorPrimitives.Sigmoid(xr, yr);
            TensorPrimitives.Multiply(xr, yr, yr);
        });
    }

    /// <summary>dx = dy·σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static void SiLUBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        CheckSame(x.Length, dy.Length, "silu backward");
        CheckSame(x.Length, dx.Length, "silu backward");
        InParallel(x, dy, dx, (xr, dyr, dxr) =>
        {
            TensorPrimitives.Sigmoid(xr, dxr);
            SiLUGradFromSigmoid(xr, dyr, dxr);
        });
    }

    /// <summary>In place: sig holds σ(x) on entry and dy·σ·(1 + x·(1 − σ)) on exit. Shared with the fused GroupNorm+SiLU.</summary>
    internal static void SiLUGradFromSigmoid(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> sig)
    {
        int i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rdy = ref MemoryMarshal.GetReference(dy);
        ref float rs = ref MemoryMarshal.GetReference(sig);
        var one = Vector256.Create(1f);
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var vx = Vector256.LoadUnsafe(ref rx, (nuint)i);
            var vs = Vector256.LoadUnsafe(ref rs, (nuint)i);
            var vdy = Vector256.LoadUnsafe(ref rdy, (nuint)i);
            (vdy * vs * (one + vx * (one - vs))).StoreUnsafe(ref rs, (nuint)i);
        }
        for (; i < x.Length; i++)
        {
            float s = sig[i];
            sig[i] = dy[i] * s * (1f + x[i] * (1f - s));
        }
    }

    public static void ReLU(ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSame(x.Length, y.Length, "relu");
        TensorPrimitives.Max(x, 0f, y);
    }

    /// <summary>dx = dy where x &gt; 0, else 0 (PyTorch's convention at x = 0).</summary>
    public static void ReLUBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        CheckSame(x.Length, dy.Length, "relu backward");
        CheckSame(x.Length, dx.Length, "relu backward");
        int i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rdy = ref MemoryMarshal.GetReference(dy);
        ref float rdx = ref MemoryMarshal.GetReference(dx);
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var mask = Vector256.GreaterThan(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256<float>.Zero);
            Vector256.ConditionalSelect(mask, Vector256.LoadUnsafe(ref rdy, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref rdx, (nuint)i);
        }
        for (; i < x.Length; i++) dx[i] = x[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>Exact GELU x·Φ(x) = ½x(1 + erf(x/√2)), with the vectorised float erf of <see cref="ErfVector"/>.</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSame(x.Length, y.Length, "gelu");
        InParallel(x, y, ErfVector.Gelu);
    }

    /// <summary>dx = dy·(Φ(x) + x·φ(x)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        CheckSame(x.Length, dy.Length, "gelu backward");
        CheckSame(x.Length, dx.Length, "gelu backward");
        InParallel(x, dy, dx, (xr, dyr, dxr) =>
        {
            ErfVector.GeluDerivative(xr, dxr);
            TensorPrimitives.Multiply(dxr, dyr, dxr);
        });
    }

    private delegate void ChunkOp(ReadOnlySpan<float> x, Span<float> y);
    private delegate void ChunkGradOp(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx);

    // Runs op over matching chunks of the arrays, in parallel above Grain elements.
    private static void InParallel(ReadOnlySpan<float> x, Span<float> y, ChunkOp op)
    {
        fixed (float* px = x, py = y)
        {
            float* xs = px, ys = py;
            CpuParallel.For(x.Length, Grain, (s, e) => op(new ReadOnlySpan<float>(xs + s, (int)(e - s)), new Span<float>(ys + s, (int)(e - s))));
        }
    }

    private static void InParallel(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, ChunkGradOp op)
    {
        fixed (float* px = x, pdy = dy, pdx = dx)
        {
            float* xs = px, dys = pdy, dxs = pdx;
            CpuParallel.For(x.Length, Grain, (s, e) =>
            {
                int n = (int)(e - s);
                op(new ReadOnlySpan<float>(xs + s, n), new ReadOnlySpan<float>(dys + s, n), new Span<float>(dxs + s, n));
            });
        }
    }

    /// <summary>GEGLU over rows of x [rows, 2n]: y[r, j] = x[r, j]·GELU(x[r, n + j]).</summary>
    public static void Geglu(ReadOnlySpan<float> x, Span<float> y, int n)
    {
        if (n <= 0 || x.Length % (2 * n) != 0) throw new ArgumentException($"geglu: {x.Length} elements are not rows of 2·{n}");
        CheckSame(x.Length / 2, y.Length, "geglu");
        long rows = x.Length / (2 * n);
        fixed (float* px = x, py = y)
        {
            float* xs = px, ys = py;
            CpuParallel.For(rows, Math.Max(1, Grain / n), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    float* value = xs + r * 2 * n;
                    var o = new Span<float>(ys + r * n, n);
                    ErfVector.Gelu(new ReadOnlySpan<float>(value + n, n), o);
                    TensorPrimitives.Multiply(o, new ReadOnlySpan<float>(value, n), o);
                }
            });
        }
    }

    /// <summary>dvalue = dy·GELU(gate); dgate = dy·value·GELU′(gate), written into dx [rows, 2n].</summary>
    public static void GegluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, int n)
    {
        if (n <= 0 || x.Length % (2 * n) != 0) throw new ArgumentException($"geglu backward: {x.Length} elements are not rows of 2·{n}");
        CheckSame(x.Length / 2, dy.Length, "geglu backward");
        CheckSame(x.Length, dx.Length, "geglu backward");
        long rows = x.Length / (2 * n);
        fixed (float* px = x, pdy = dy, pdx = dx)
        {
            float* xs = px, dys = pdy, dxs = pdx;
            CpuParallel.For(rows, Math.Max(1, Grain / n), (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    var value = new ReadOnlySpan<float>(xs + r * 2 * n, n);
                    var gate = new ReadOnlySpan<float>(xs + r * 2 * n + n, n);
                    var g = new ReadOnlySpan<float>(dys + r * n, n);
                    var dValue = new Span<float>(dxs + r * 2 * n, n);
                    var dGate = new Span<float>(dxs + r * 2 * n + n, n);
                    ErfVector.Gelu(gate, dValue);
                    TensorPrimitives.Multiply(dValue, g, dValue);
                    ErfVector.GeluDerivative(gate, dGate);
                    TensorPrimitives.Multiply(dGate, g, dGate);
                    TensorPrimitives.Multiply(dGate, value, dGate);
                }
            });
        }
    }

    internal static void CheckSame(int a, int b, string op)
    {
        if (a != b) throw new ArgumentException($"{op}: buffers of {a} and {b} elements");
    }
}
