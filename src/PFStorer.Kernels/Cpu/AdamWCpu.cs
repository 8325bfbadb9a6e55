using System.Runtime.Intrinsics;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// One fused AdamW step in place (torch.optim.AdamW, amsgrad off): decoupled weight decay p ← p·(1 − lr·wd), then
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps).
/// One pass over the four arrays instead of torch's six element-wise kernels.
/// </summary>
public static unsafe class AdamWCpu
{
    /// <summary>Elements per parallel chunk: large enough to amortise task hand-off, a multiple of the vector width.</summary>
    private const int Chunk = 1 << 15;

    public static void Step(float* param, float* grad, float* m, float* v, long count,
        float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"AdamW step is 1-based, got {step}");
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        // Scalars in double, as torch computes them in Python floats, then rounded once.
        var h = new Hyper
        {
            Decay = (float)(1 - (double)lr * weightDecay),
            Beta1 = beta1, OneMinusBeta1 = (float)(1 - (double)beta1),
            Beta2 = beta2, OneMinusBeta2 = (float)(1 - (double)beta2),
            StepSize = (float)(lr / (1 - Math.Pow(beta1, step))),
            InvSqrtBc2 = (float)(1 / Math.Sqrt(1 - Math.Pow(beta2, step))),
            Eps = eps,
        };
        long chunks = (count + Chunk - 1) / Chunk;
        if (chunks <= 1) { Update(h, param, grad, m, v, count); return; }
        nint p0 = (nint)param, g0 = (nint)grad, m0 = (nint)m, v0 = (nint)v;
        Parallel.For(0L, chunks, i =>
        {
            long start = i * Chunk, n = Math.Min(Chunk, count - start);
            Update(h, (float*)p0 + start, (float*)g0 + start, (float*)m0 + start, (float*)v0 + start, n);
        });
    }

    private struct Hyper
    {
        public float Decay, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, StepSize, InvSqrtBc2, Eps;
    }

    private static void Update(in Hyper h, float* p, float* g, float* m, float* v, long n)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var decay = Vector256.Create(h.Decay);
            var b1 = Vector256.Create(h.Beta1); var c1 = Vector256.Create(h.OneMinusBeta1);
            var b2 = Vector256.Create(h.Beta2); var c2 = Vector256.Create(h.OneMinusBeta2);
            var stepSize = Vector256.Create(h.StepSize); var invSqrtBc2 = Vector256.Create(h.InvSqrtBc2);
            var eps = Vector256.Create(h.Eps);
            for (; i <= n - 8; i += 8)
            {
                var gi = Vector256.Load(g + i);
                var mi = b1 * Vector256.Load(m + i) + c1 * gi;
                var vi = b2 * Vector256.Load(v + i) + c2 * gi * gi;
                var denom = Vector256.Sqrt(vi) * invSqrtBc2 + eps;
                var pi = Vector256.Load(p + i) * decay - stepSize * mi / denom;
                mi.Store(m + i);
                vi.Store(v + i);
                pi.Store(p + i);
            }
        }
        for (; i < n; i++)
        {
            float gi = g[i];
            float mi = h.Beta1 * m[i] + h.OneMinusBeta1 * gi;
            float vi = h.Beta2 * v[i] + h.OneMinusBeta2 * gi * gi;
            float denom = MathF.Sqrt(vi) * h.InvSqrtBc2 + h.Eps;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * h.Decay - h.StepSize * mi / denom;
        }
    }
}
