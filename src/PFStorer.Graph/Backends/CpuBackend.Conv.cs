namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding) => throw new NotImplementedException("CPU Conv");

    public void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias, int stride, int padding) => throw new NotImplementedException("CPU Conv");
}
