using PFStorer.Kernels.Cuda;
using PFStorer.Kernels;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily RandomKernels = new("random", ["standard_normal_f32"]);

    private static readonly KernelFamily DdpmKernels = new("ddpm",
        [.. KernelFamily.PerFloatType(t => [$"guidance<{t}>", $"posterior_step<{t}>", $"accumulate_tile<{t}>"])]);

    public void StandardNormal(Tensor y, ulong seed, ulong stream)
    {
        RequireF32("standard normal", "y", y);
        long count = y.Numel;
        if (count == 0) return;
        long blocks = (count + 3) / 4;   // one thread per Philox block of four normals
        _gpu.Launch(Fn(RandomKernels, "standard_normal_f32"), (int)((blocks + 255) / 256), 256, 0, Ptr(y), (ulong)count, seed, stream, 0UL);
    }

    public void Guidance(Tensor negative, Tensor positive, float scale, Tensor y)
    {
        SameShape("guidance", negative, positive);
        SameShape("guidance", negative, y);
        var t = FloatType("guidance", negative, positive, y);
        Elementwise(Fn(DdpmKernels, $"guidance<{t}>"), y.Numel, Ptr(negative), Ptr(positive), Ptr(y), y.Numel, scale);
    }

    public void AccumulateTile(Tensor tile, Tensor weight, Tensor destination, int top, int left)
    {
        if (tile.Rank != 4 || destination.Rank != 4 || tile.Dim(0) != destination.Dim(0) || tile.Dim(1) != destination.Dim(1))
            throw new ArgumentException($"accumulate tile: tile {tile.ShapeString} does not fit {destination.ShapeString}");
        int h = tile.Dim(2), w = tile.Dim(3), hh = destination.Dim(2), ww = destination.Dim(3);
        if (top < 0 || left < 0 || top + h > hh || left + w > ww || weight.Numel != (long)h * w)
            throw new ArgumentException($"accumulate tile: {h}x{w} tile at ({top},{left}) with weight {weight.ShapeString} outside {hh}x{ww}");
        var t = FloatType("accumulate tile", tile, weight, destination);
        Elementwise(Fn(DdpmKernels, $"accumulate_tile<{t}>"), tile.Numel, Ptr(tile), Ptr(weight), Ptr(destination),
            (long)tile.Dim(0) * tile.Dim(1), h, w, hh, ww, top, left);
    }

    public void PosteriorStep(Tensor x, Tensor eps, Tensor? noise, PosteriorCoefficients c, Tensor xNext, Tensor? x0, Tensor? mean)
    {
        foreach (var other in new[] { eps, noise, xNext, x0, mean })
            if (other != null) SameShape("posterior step", x, other);
        if (c.NoiseStd != 0 && noise == null) throw new ArgumentException("posterior step: noise is required when the noise std is non-zero");
        var t = FloatType("posterior step", x, eps, noise, xNext, x0, mean);
        Elementwise(Fn(DdpmKernels, $"posterior_step<{t}>"), x.Numel, Ptr(x), Ptr(eps), Opt(noise), Ptr(xNext), Opt(x0), Opt(mean),
            x.Numel, c.SqrtRecipAlphasCumprod, c.SqrtRecipm1AlphasCumprod, c.MeanCoef1, c.MeanCoef2, c.NoiseStd);
    }
}
