using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

/// <summary>
/// The per-channel bias epilogue and its gradient (kernels/bias.cu), shared by the convolution and the MatMul bias:
/// no op of its own, so launched through these helpers only.
/// </summary>
public sealed partial class CudaBackend
{
    private static readonly KernelFamily BiasKernels = new("bias", [.. KernelFamily.PerFloatType(t => [$"add_channel_bias<{t}>", $"channel_bias_grad<{t}>"])]);

    /// <summary>y [planes, L] += bias[plane % channels]: a conv's [B·O, Ho·Wo], or a MatMul's [rows·n, 1] with channels = n.</summary>
    private void AddChannelBias(Tensor y, Tensor bias, long planes, int channels, long l, string t) =>
        Elementwise(Fn(BiasKernels, $"add_channel_bias<{t}>"), planes * l, Ptr(y), Ptr(bias), planes, channels, l);

    /// <summary>dbias[o] = Σ over the batch and the plane of dy [batch, channels, L].</summary>
    private void ChannelBiasGrad(Tensor dy, Tensor dbias, int batch, int channels, long l, string t) =>
        _gpu.Launch(Fn(BiasKernels, $"channel_bias_grad<{t}>"), channels, 256, 0, Ptr(dy), Ptr(dbias), batch, channels, l);
}
