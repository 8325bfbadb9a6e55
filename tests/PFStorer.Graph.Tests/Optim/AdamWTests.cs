using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Optim;

/// <summary>The fused AdamW step against torch.optim.AdamW's formula written out in float64, over several steps.</summary>
public class AdamWTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(1, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f)]
    [InlineData(37, 5e-5f, 0.9f, 0.999f, 1e-8f, 0f)]
    [InlineData(70_003, 1e-2f, 0.8f, 0.95f, 1e-6f, 0.1f)]   // several parallel chunks plus a scalar tail
    public void StepsMatchTorchFormulaInFloat64(int count, float lr, float beta1, float beta2, float eps, float weightDecay)
    {
        var rng = NewRandom(out int seed);
        var p = RandomArray(rng, count);
        var m = new double[count];
        var v = new double[count];
        using var param = Reference.Tensor(p, count);
        using var mt = Tensor.Zeros([count]);
        using var vt = Tensor.Zeros([count]);
        for (int step = 1; step <= 5; step++)
        {
            // Gradients of varied magnitude, so that √v̂ and eps both matter somewhere.
            var g = RandomArray(rng, count, step % 2 == 0 ? 1e-3 : 1.0);
            using (var grad = Reference.Tensor(g, count))
                param.Backend.AdamW(param, grad, mt, vt, lr, beta1, beta2, eps, weightDecay, step);

            double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
            for (int i = 0; i < count; i++)
            {
                double gi = (float)g[i];
                p[i] *= 1 - (double)lr * weightDecay;
                m[i] = beta1 * m[i] + (1 - (double)beta1) * gi;
                v[i] = beta2 * v[i] + (1 - (double)beta2) * gi * gi;
                p[i] -= lr / bc1 * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(bc2) + eps);
            }
            string what = $"AdamW n={count} lr={lr} wd={weightDecay} step {step} seed={seed}";
            AssertClose(param.ToFloatArray(), p, Tolerance, what + " param");
            AssertClose(mt.ToFloatArray(), m, Tolerance, what + " m");
            AssertClose(vt.ToFloatArray(), v, Tolerance, what + " v");
        }
    }

    [Fact]
    public void RejectsStepZeroAndMismatchedState()
    {
        using var p = Tensor.Zeros([4]);
        using var g = Tensor.Zeros([4]);
        using var m = Tensor.Zeros([4]);
        using var v3 = Tensor.Zeros([3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Backend.AdamW(p, g, m, m, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0));
        Assert.Throws<ArgumentException>(() => p.Backend.AdamW(p, g, m, v3, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1));
    }
}
