using PFStorer.Kernels.Cuda;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily WindowKernels = new("window",
        [.. KernelFamily.PerFloatType(t => [$"depthwise_conv2d<{t}>", $"pool2d<{t}, 0>", $"pool2d<{t}, 1>", $"pad2d<{t}>"])]);

    public void DepthwiseConv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        var g = CpuBackend.DepthwiseGeometry(x, w, bias, y, stride, padding);
        var t = FloatType("depthwise conv2d", x, w, bias, y);
        Elementwise(Fn(WindowKernels, $"depthwise_conv2d<{t}>"), y.Numel, Ptr(x), Ptr(w), Opt(bias), Ptr(y), g.Planes, g.Channels, g.Height,
            g.Width, g.Kernel, stride, padding, g.OutHeight, g.OutWidth);
    }

    public void Pool2d(PoolOp op, Tensor x, Tensor y, int kernel, int stride)
    {
        var g = CpuBackend.PoolGeometry(x, y, kernel, stride);
        var t = FloatType("pool2d", x, y);
        Elementwise(Fn(WindowKernels, $"pool2d<{t}, {(op == PoolOp.Max ? 0 : 1)}>"), y.Numel, Ptr(x), Ptr(y), g.Planes, g.Height, g.Width,
            kernel, stride, g.OutHeight, g.OutWidth);
    }

    public void Pad2d(Tensor x, Tensor y, int top, int left, float value)
    {
        CpuBackend.CheckPad(x, y);
        if (top < 0 || left < 0 || top + x.Dim(2) > y.Dim(2) || left + x.Dim(3) > y.Dim(3))
            throw new ArgumentException($"pad2d: x {x.ShapeString} at ({top},{left}) does not fit in {y.ShapeString}");
        var t = FloatType("pad2d", x, y);
        Elementwise(Fn(WindowKernels, $"pad2d<{t}>"), y.Numel, Ptr(x), Ptr(y), (long)x.Dim(0) * x.Dim(1), x.Dim(2), x.Dim(3), y.Dim(2),
            y.Dim(3), top, left, value);
    }
}
