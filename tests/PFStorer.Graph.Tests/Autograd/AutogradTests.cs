using PFStorer.Graph.Autograd;
using PFStorer.Kernels;
using Xunit;
using static PFStorer.Tests.Reference;

namespace PFStorer.Graph.Tests.Autograd;

/// <summary>
/// Properties of the tape, proved on graphs run through a recording backend on a private device and pool:
/// frozen weights get neither gradient buffers nor gradient work, nothing is recorded without a trainable input,
/// activation memory is released during backward, and gradients of re-used tensors accumulate.
/// </summary>
public class AutogradTests
{
    private const int Channels = 4;
    private static readonly int[] Shape = [2, Channels, 3, 5];

    private static Tensor On(CountingBackend be, double[] data, params int[] shape) =>
        Tensor.FromSpan<float>(ToFloat(data), DType.F32, shape, be.Device);

    /// <summary>A residual block with random weights on a fresh recording backend, an input and a target.</summary>
    private sealed class BlockCase : IDisposable
    {
        public CountingBackend Backend { get; } = CountingBackend.Create();
        public int Seed { get; }
        public ResidualBlock Block { get; } = new(Channels);
        public Tensor X { get; }
        public Tensor Target { get; }

        public BlockCase()
        {
            var rng = NewRandom(out int seed);
            Seed = seed;
            Block.Load(rng, Backend.Device);
            X = On(Backend, RandomArray(rng, 120), Shape);
            Target = On(Backend, RandomArray(rng, 120), Shape);
        }

        public void Dispose()
        {
            Target.Dispose();
            X.Dispose();
            Block.Dispose();
        }
    }

    [Fact]
    public void FrozenParametersGetNoGradientAndNoWeightGradientWork()
    {
        using var c = new BlockCase();
        var (be, seed, block, x, target) = (c.Backend, c.Seed, c.Block, c.X, c.Target);
        using (var y = block.Forward(x))
        using (var loss = F.MseLoss(y, target))
        {
            be.ClearCalls();
            Tape.Backward(loss);
        }

        foreach (var (path, p) in block.NamedParameters())
        {
            if (p.Trainable) Assert.True(p.Tensor.Grad != null, $"trainable {path} has no gradient (seed={seed})");
            else Assert.True(p.Tensor.Grad == null, $"frozen {path} got a gradient buffer (seed={seed})");
        }
        var calls = be.Calls;
        // GroupNorm backward runs for dx only: its dweight and dbias arguments are null.
        var gn = Assert.Single(calls, c => c.Name == "GroupNormBackward");
        Assert.NotNull(gn.Args[6]); // dx
        Assert.Null(gn.Args[7]);    // dweight
        Assert.Null(gn.Args[8]);    // dbias
        // The frozen projection costs one GEMM (dx); no dweight GEMM and no bias reduction of its [.., C] gradient.
        Assert.Single(calls, c => c.Name == "MatMul");
        Assert.DoesNotContain(calls, c => c.Name == "SumToShape" && ((Tensor)c.Args[1]!).Shape.SequenceEqual([Channels]));
    }

    [Fact]
    public void TrainableGradientsMatchFiniteDifferencesOfTheEngine()
    {
        // The module's α and γ gradients against central differences of the engine's own f32 forward: a whole-graph
        // check that the tape wires frozen and trainable paths together correctly (op-level precision is proved in Ops/).
        using var c = new BlockCase();
        var (be, seed, block, x, target) = (c.Backend, c.Seed, c.Block, c.X, c.Target);
        // The loss of the perturbed forwards is summed on the host in float64: an f32 mean over the block's output
        // rounds at ~1e-7 of the loss, which the central difference amplifies by 1/h into percent-level noise.
        var t = target.ToFloatArray();
        double Loss()
        {
            using var noGrad = GradMode.NoGrad();
            using var y = block.Forward(x);
            var v = y.ToFloatArray();
            double sum = 0;
            for (int i = 0; i < v.Length; i++) sum += ((double)v[i] - t[i]) * ((double)v[i] - t[i]);
            return sum / v.Length;
        }
        using (var y = block.Forward(x))
        using (var loss = F.MseLoss(y, target)) Tape.Backward(loss);

        foreach (var p in new[] { block.Alpha, block.Gamma })
        {
            var analytic = p.Tensor.Grad!.ToFloatArray();
            var values = p.Tensor.Span<float>();
            var numeric = new double[values.Length];
            const float h = 1e-2f;
            for (int i = 0; i < values.Length; i++)
            {
                float keep = values[i];
                values[i] = keep + h;
                double plus = Loss();
                values[i] = keep - h;
                double minus = Loss();
                values[i] = keep;
                numeric[i] = (plus - minus) / (2 * h);
            }
            AssertClose(analytic, numeric, 1e-2, $"d loss / d {p.Name} (seed={seed})");
        }
    }

    [Fact]
    public void NothingIsRecordedWithoutTrainableInputsOrUnderNoGrad()
    {
        var be = CountingBackend.Create();
        var rng = NewRandom(out _);
        using var x = On(be, RandomArray(rng, 120), Shape);
        using var w = On(be, RandomArray(rng, Channels), Channels);
        long before = be.CountingPool.Counters.BytesInUse;

        // Frozen weight, plain input: no tape, and GroupNorm's mean/rstd are freed at once.
        using (var n = F.GroupNorm(x, 2, w, w, 1e-5f, silu: true))
        using (var s = F.Add(n, x))
        using (var m = F.Mean(s))
        {
            Assert.All(new[] { n, s, m }, t => { Assert.Null(t.GradFn); Assert.False(t.RequiresGrad); });
        }
        Assert.Equal(before, be.CountingPool.Counters.BytesInUse);

        // A trainable weight under NoGrad: still no tape.
        w.RequiresGrad = true;
        using (GradMode.NoGrad())
        using (var n = F.GroupNorm(x, 2, w, null, 1e-5f))
        using (var wc = F.Reshape(w, Channels, 1, 1))
        using (var p = F.Mul(n, wc))
        {
            Assert.False(GradMode.IsEnabled);
            Assert.All(new[] { n, wc, p }, t => Assert.Null(t.GradFn));
        }
        Assert.True(GradMode.IsEnabled);
        Assert.Equal(before, be.CountingPool.Counters.BytesInUse);

        // The same op with grad mode on does record, so the checks above can fail.
        using var recorded = F.GroupNorm(x, 2, w, null, 1e-5f);
        Assert.NotNull(recorded.GradFn);
        Tape.Release(recorded);
    }

    [Fact]
    public void ActivationMemoryIsReleasedDuringBackward()
    {
        using var c = new BlockCase();
        var (be, seed, block, x, target) = (c.Backend, c.Seed, c.Block, c.X, c.Target);
        long baseline = be.CountingPool.Counters.BytesInUse;

        var y = block.Forward(x);
        var loss = F.MseLoss(y, target);
        y.Dispose();
        long afterForward = be.CountingPool.Counters.BytesInUse;
        Assert.True(afterForward > baseline, "the tape holds no activations after forward");

        be.ClearCalls();
        Tape.Backward(loss);
        loss.Dispose();
        var calls = be.Calls;
        long gradients = block.TrainableParameters().Sum(p => p.Tensor.Grad!.Storage.Bytes);
        long after = be.CountingPool.Counters.BytesInUse;
        Assert.True(after == baseline + gradients,
            $"after backward {after} B in use, expected baseline {baseline} + gradients {gradients} (seed={seed})");
        // By the last backend call of the backward pass the saved activations of the later nodes are gone already.
        long atLastCall = calls[^1].BytesInUseBefore;
        Assert.True(atLastCall < afterForward, $"{atLastCall} B in use at the last backward call, {afterForward} B after forward (seed={seed})");
    }

    [Fact]
    public void GradientsAccumulateWhenATensorIsUsedTwice()
    {
        var rng = NewRandom(out int seed);
        var xd = RandomArray(rng, 30);
        var ad = RandomArray(rng, 30);
        using var x = Reference.Tensor(xd, 5, 6);
        using var a = Reference.Tensor(ad, 5, 6);
        x.RequiresGrad = true;
        a.RequiresGrad = true;
        // z = Σ (h·h + h) with h = x·a: h feeds three uses; x, a each feed one.
        void Step()
        {
            using var h = F.Mul(x, a);
            using var hh = F.Mul(h, h);
            using var z = F.Add(hh, h);
            using var s = F.Sum(z);
            Tape.Backward(s);
        }
        Step();
        var dx = xd.Select((v, i) => (2 * v * ad[i] + 1) * ad[i]).ToArray();
        var da = xd.Select((v, i) => (2 * v * ad[i] + 1) * v).ToArray();
        AssertClose(x.Grad!.ToFloatArray(), dx, 1e-6, $"dx (seed={seed})");
        AssertClose(a.Grad!.ToFloatArray(), da, 1e-6, $"da (seed={seed})");

        // A second backward accumulates into the existing leaf gradients.
        Step();
        AssertClose(x.Grad!.ToFloatArray(), dx.Select(v => 2 * v).ToArray(), 1e-6, $"dx after two steps (seed={seed})");
        x.Grad!.Dispose();
        a.Grad!.Dispose();
    }

    [Fact]
    public void ABackwardSeedIsNotAliasedByLeafGradients()
    {
        // y = reshape(x): its backward returns a view of the incoming gradient. The seed must be the tape's own copy,
        // or x.Grad would share the caller's tensor and later accumulation would write into it.
        var rng = NewRandom(out int seed);
        var xd = RandomArray(rng, 12);
        var gd = RandomArray(rng, 12);
        using var x = Reference.Tensor(xd, 3, 4);
        x.RequiresGrad = true;
        using var g = Reference.Tensor(gd, 12);
        var given = g.ToFloatArray();
        for (int step = 0; step < 2; step++)
        {
            using var y = F.Reshape(x, -1);
            Tape.Backward(y, g);
        }
        Assert.True(g.ToFloatArray().SequenceEqual(given), $"the caller's gradient changed during backward (seed={seed})");
        AssertClose(x.Grad!.ToFloatArray(), gd.Select(v => 2 * v).ToArray(), 1e-7, $"accumulated dx (seed={seed})");
        x.Grad!.Dispose();
    }
}
