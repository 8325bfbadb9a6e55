using PFStorer.Graph;
using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The device arena under a repeated graph of real ops: after the first step, no step asks the driver for memory;
/// and because of that, a warm step can be captured into a CUDA graph and replayed with the same result.
/// </summary>
public sealed class CudaArenaTests(ITestOutputHelper output)
{
    /// <summary>A transformer-block-like step: LayerNorm → Linear → attention → Linear + residual, GroupNorm+SiLU on a feature map.</summary>
    private static Tensor Step(CudaBackend gpu, Tensor x, Tensor w1, Tensor w2, Tensor map)
    {
        var dev = gpu.Device;
        using var mean = Tensor.Empty([x.Dim(0) * x.Dim(1)], DType.F32, dev);
        using var rstd = Tensor.Empty([x.Dim(0) * x.Dim(1)], DType.F32, dev);
        using var n = Tensor.Empty(x.Shape, DType.F32, dev);
        gpu.LayerNorm(x, null, null, n, mean, rstd, 1e-5f);
        using var qkv = Tensor.Empty([x.Dim(0), x.Dim(1), 3 * x.Dim(2)], DType.F32, dev);
        using (var n2 = n.View(-1, x.Dim(2)))
        using (var qkv2 = qkv.View(-1, 3 * x.Dim(2)))
            gpu.MatMul(n2, w1, qkv2, false, true);
        using var q = qkv.Slice(2, 0, x.Dim(2)).Contiguous();
        using var k = qkv.Slice(2, x.Dim(2), x.Dim(2)).Contiguous();
        using var v = qkv.Slice(2, 2 * x.Dim(2), x.Dim(2)).Contiguous();
        using var a = Tensor.Empty(x.Shape, DType.F32, dev);
        using var lse = Tensor.Empty([x.Dim(0), 4, x.Dim(1)], DType.F32, dev);
        gpu.Attention(q, k, v, a, lse, null, new AttentionArgs(4, 0.125f));
        var y = Tensor.Empty(x.Shape, DType.F32, dev);
        using (var a2 = a.View(-1, x.Dim(2)))
        using (var y2 = y.View(-1, x.Dim(2)))
            gpu.MatMul(a2, w2, y2, false, true);
        gpu.Binary(BinaryOp.Add, y, x, y);
        using var gmean = Tensor.Empty([map.Dim(0) * 8], DType.F32, dev);
        using var grstd = Tensor.Empty([map.Dim(0) * 8], DType.F32, dev);
        using var g = Tensor.Empty(map.Shape, DType.F32, dev);
        gpu.GroupNorm(map, null, null, g, gmean, grstd, 8, 1e-5f, silu: true);
        return y;
    }

    private static Tensor RandomOn(CudaBackend gpu, Random r, params int[] shape)
    {
        using var cpu = Tensor.FromArray(Reference.ToFloat(Reference.RandomArray(r, shape.Aggregate(1, (p, s) => p * s))), shape);
        return cpu.To(gpu.Device);
    }

    [Fact]
    public void Repeated_graph_makes_no_driver_allocations_after_the_first_step()
    {
        var gpu = Gpu.Require();
        var r = Reference.NewRandom(out int seed);
        using var x = RandomOn(gpu, r, 2, 96, 256);
        using var w1 = RandomOn(gpu, r, 768, 256);
        using var w2 = RandomOn(gpu, r, 256, 256);
        using var map = RandomOn(gpu, r, 2, 64, 16, 16);
        Step(gpu, x, w1, w2, map).Dispose();
        gpu.Synchronize();
        var first = gpu.Pool.Counters;
        for (int i = 0; i < 5; i++) Step(gpu, x, w1, w2, map).Dispose();
        gpu.Synchronize();
        var after = gpu.Pool.Counters;
        output.WriteLine($"driver allocations: {first.BackingAllocations} after step 1, {after.BackingAllocations} after step 6; " +
            $"rents {after.Rents - first.Rents} in 5 steps; reserved {after.BytesReserved >> 20} MiB (seed {seed})");
        Assert.Equal(first.BackingAllocations, after.BackingAllocations);
        Assert.True(after.Rents > first.Rents);
    }

    [Fact]
    public void Warm_step_replays_as_a_cuda_graph()
    {
        var gpu = Gpu.Require();
        var r = Reference.NewRandom(out int seed);
        using var x = RandomOn(gpu, r, 2, 96, 256);
        using var w1 = RandomOn(gpu, r, 768, 256);
        using var w2 = RandomOn(gpu, r, 256, 256);
        using var map = RandomOn(gpu, r, 2, 64, 16, 16);
        using var eager = Step(gpu, x, w1, w2, map);
        var expected = eager.ToFloatArray();

        Tensor? captured = null;
        using var graph = gpu.Gpu.Capture(() => captured = Step(gpu, x, w1, w2, map));
        using var result = captured!;
        gpu.Fill(result, double.NaN);
        graph.Launch();
        var replayed = result.ToFloatArray();
        double err = Reference.NormalisedError(replayed, Reference.ToDouble(expected));
        output.WriteLine($"graph replay vs eager: normalised error {err:E2} (seed {seed})");
        Assert.True(err <= 1e-6, $"graph replay differs from the eager step: {err:E3} (seed {seed})");
    }
}
