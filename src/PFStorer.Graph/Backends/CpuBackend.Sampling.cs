using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void StandardNormal(Tensor y, ulong seed, ulong stream) => Philox.StandardNormal(F32(y), seed, stream);

    public void Guidance(Tensor negative, Tensor positive, float scale, Tensor y) =>
        SamplingCpu.Guidance(F32(negative), F32(positive), scale, F32(y));

    public void AccumulateTile(Tensor tile, Tensor weight, Tensor destination, int top, int left) =>
        SamplingCpu.AccumulateTile(F32(tile), F32(weight), F32(destination), tile.Shape, destination.Shape, top, left);

    public void PosteriorStep(Tensor x, Tensor eps, Tensor? noise, PosteriorCoefficients c, Tensor xNext, Tensor? x0, Tensor? mean) =>
        SamplingCpu.PosteriorStep(F32(x), F32(eps), noise == null ? default : F32(noise), c, F32(xNext),
            x0 == null ? default : F32(x0), mean == null ? default : F32(mean));
}
