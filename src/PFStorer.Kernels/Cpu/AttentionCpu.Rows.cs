using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

public static partial class AttentionCpu
{
    // Row operations on one query row of a block (≤ KeyBlock or ≤ D floats). They run once per row and key block, so
    // they are fused loops without per-call setup: at 64 floats, library span calls cost as much as the arithmetic.

    private static unsafe float RowMax(float* x, int n)
    {
        int j = 0;
        float max = float.NegativeInfinity;
        if (n >= 8)
        {
            var vmax = Vector256.Load(x);
            for (j = 8; j + 8 <= n; j += 8) vmax = Vector256.Max(vmax, Vector256.Load(x + j));
            for (int e = 0; e < 8; e++) max = Math.Max(max, vmax.GetElement(e));
        }
        for (; j < n; j++) max = Math.Max(max, x[j]);
        return max;
    }

    /// <summary>x ← exp(x − shift) over n floats; returns their sum.</summary>
    private static unsafe float ExpShiftedInPlace(float* x, int n, float shift)
    {
        var vshift = Vector256.Create(shift);
        var vsum = Vector256<float>.Zero;
        int j = 0;
        for (; j + 8 <= n; j += 8)
        {
            var e = Vector256.Exp(Vector256.Load(x + j) - vshift);
            e.Store(x + j);
            vsum += e;
        }
        float sum = Vector256.Sum(vsum);
        for (; j < n; j++) sum += x[j] = MathF.Exp(x[j] - shift);
        return sum;
    }

    private static unsafe void ScaleInPlace(float* x, int n, float factor)
    {
        var vf = Vector256.Create(factor);
        int j = 0;
        for (; j + 8 <= n; j += 8) (Vector256.Load(x + j) * vf).Store(x + j);
        for (; j < n; j++) x[j] *= factor;
    }

    /// <summary>dS ← P∘(dP − delta) over n floats, in place in dP.</summary>
    private static unsafe void SoftmaxBackwardInPlace(float* dP, float* probs, int n, float delta)
    {
        var vd = Vector256.Create(delta);
        int j = 0;
        for (; j + 8 <= n; j += 8) ((Vector256.Load(dP + j) - vd) * Vector256.Load(probs + j)).Store(dP + j);
        for (; j < n; j++) dP[j] = (dP[j] - delta) * probs[j];
    }
}
