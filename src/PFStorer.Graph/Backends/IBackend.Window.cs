using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>Depthwise 2-D convolution (groups = channels, multiplier 1): x [B,C,H,W], w [C,1,k,k], bias [C] or null,
    /// y [B,C,Ho,Wo], symmetric zero padding. Forward only (the face networks run inference).</summary>
    void DepthwiseConv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding);

    /// <summary>Max or average pooling over k×k windows that lie inside x [B,C,H,W]; y [B,C,Ho,Wo]. Forward only.</summary>
    void Pool2d(PoolOp op, Tensor x, Tensor y, int kernel, int stride);

    /// <summary>y [B,C,Ho,Wo] holds x [B,C,H,W] at row <paramref name="top"/>, column <paramref name="left"/> and
    /// <paramref name="value"/> around it. Forward only.</summary>
    void Pad2d(Tensor x, Tensor y, int top, int left, float value);
}
