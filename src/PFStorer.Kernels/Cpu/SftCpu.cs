using System.Numerics.Tensors;

namespace PFStorer.Kernels.Cpu;

/// <summary>SFT / SPADE modulation y = x·(1 + γ) + β over equal-shaped buffers, and its gradients.</summary>
public static unsafe class SftCpu
{
    private const long Grain = 1 << 15;

    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y)
    {
        ActivationCpu.CheckSame(x.Length, gamma.Length, "sft");
        ActivationCpu.CheckSame(x.Length, beta.Length, "sft");
        ActivationCpu.CheckSame(x.Length, y.Length, "sft");
        fixed (float* px = x, pg = gamma, pb = beta, py = y)
        {
            float* xs = px, gs = pg, bs = pb, ys = py;
            CpuParallel.For(x.Length, Grain, (s, e) =>
            {
                int n = (int)(e - s);
                var xr = new ReadOnlySpan<float>(xs + s, n);
                var yr = new Span<float>(ys + s, n);
                TensorPrimitives.MultiplyAdd(xr, new ReadOnlySpan<float>(gs + s, n), xr, yr);   // x·γ + x
                TensorPrimitives.Add(yr, new ReadOnlySpan<float>(bs + s, n), yr);              // + β
            });
        }
    }

    /// <summary>dx = dy·(1 + γ), dγ = dy·x, dβ = dy; empty outputs are skipped.</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        ActivationCpu.CheckSame(x.Length, gamma.Length, "sft backward");
        ActivationCpu.CheckSame(x.Length, dy.Length, "sft backward");
        if (!dx.IsEmpty) ActivationCpu.CheckSame(x.Length, dx.Length, "sft backward dx");
        if (!dgamma.IsEmpty) ActivationCpu.CheckSame(x.Length, dgamma.Length, "sft backward dgamma");
        if (!dbeta.IsEmpty) ActivationCpu.CheckSame(x.Length, dbeta.Length, "sft backward dbeta");
        fixed (float* px = x, pg = gamma, pdy = dy, pdx = dx, pdg = dgamma, pdb = dbeta)
        {
            float* xs = px, gs = pg, dys = pdy, dxs = pdx, dgs = pdg, dbs = pdb;
            CpuParallel.For(x.Length, Grain, (s, e) =>
            {
                int n = (int)(e - s);
                var dyr = new ReadOnlySpan<float>(dys + s, n);
                if (dxs != null) TensorPrimitives.MultiplyAdd(dyr, new ReadOnlySpan<float>(gs + s, n), dyr, new Span<float>(dxs + s, n));
                if (dgs != null) TensorPrimitives.Multiply(dyr, new ReadOnlySpan<float>(xs + s, n), new Span<float>(dgs + s, n));
                if (dbs != null) dyr.CopyTo(new Span<float>(dbs + s, n));
            });
        }
    }
}
