using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public unsafe void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        foreach (var t in (ReadOnlySpan<Tensor>)[grad, m, v])
            if (!t.Shape.SequenceEqual(param.Shape))
                throw new ArgumentException($"AdamW: {t.Name ?? "tensor"} {t.ShapeString} does not match parameter {param.Name ?? ""} {param.ShapeString}");
        fixed (float* p = F32(param), g = F32(grad), pm = F32(m), pv = F32(v))
            AdamWCpu.Step(p, g, pm, pv, param.Numel, lr, beta1, beta2, eps, weightDecay, step);
    }
}
