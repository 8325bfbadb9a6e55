namespace PFStorer.Graph.Backends;

public partial interface IBackend
{
    /// <summary>2-D convolution (cross-correlation, PyTorch semantics). x [B,C,H,W], w [O,C,k,k], bias [O], y [B,O,H',W'].</summary>
    void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding);
    void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias, int stride, int padding);
}
