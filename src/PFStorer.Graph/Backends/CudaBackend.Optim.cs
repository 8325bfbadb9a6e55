using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily OptimKernels = new("optim", [.. KernelFamily.PerFloatType(t => [$"adamw_step<{t}>"])]);

    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        SameShape("adamw", param, grad);
        SameShape("adamw", param, m);
        SameShape("adamw", param, v);
        RequireF32("adamw", "first moment", m);
        RequireF32("adamw", "second moment", v);
        var t = FloatType("adamw", param, grad);
        float bc1 = (float)(1 - Math.Pow(beta1, step)), bc2 = (float)(1 - Math.Pow(beta2, step));
        Elementwise(Fn(OptimKernels, $"adamw_step<{t}>"), param.Numel, Ptr(param), Ptr(grad), Ptr(m), Ptr(v), param.Numel,
            lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    }
}
