using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public unsafe void DepthwiseConv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        var g = DepthwiseGeometry(x, w, bias, y, stride, padding);
        fixed (float* px = F32(x), pw = F32(w), pb = bias == null ? default : F32(bias), py = F32(y))
            WindowCpu.DepthwiseConv2d(g, px, pw, pb, py);
    }

    public unsafe void Pool2d(PoolOp op, Tensor x, Tensor y, int kernel, int stride)
    {
        var g = PoolGeometry(x, y, kernel, stride);
        fixed (float* px = F32(x), py = F32(y))
            WindowCpu.Pool2d(op, g, px, py);
    }

    public unsafe void Pad2d(Tensor x, Tensor y, int top, int left, float value)
    {
        CheckPad(x, y);
        fixed (float* px = F32(x), py = F32(y))
            WindowCpu.Pad2d((long)x.Dim(0) * x.Dim(1), x.Dim(2), x.Dim(3), y.Dim(2), y.Dim(3), top, left, value, px, py);
    }

    /// <summary>Checks shapes shared by both backends and returns the window geometry.</summary>
    internal static WindowGeometry DepthwiseGeometry(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        if (x.Rank != 4 || w.Rank != 4 || y.Rank != 4 || w.Dim(0) != x.Dim(1) || w.Dim(1) != 1 || w.Dim(2) != w.Dim(3))
            throw new ArgumentException($"depthwise conv2d: x {x.ShapeString}, w {w.ShapeString} are not [B,C,H,W] and [C,1,k,k]");
        var g = new WindowGeometry(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), w.Dim(2), stride, padding);
        g.Validate("depthwise conv2d");
        CheckWindowOutput("depthwise conv2d", g, y);
        if (bias != null && bias.Numel != g.Channels)
            throw new ArgumentException($"depthwise conv2d: bias {bias.ShapeString} must have {g.Channels} elements");
        return g;
    }

    internal static WindowGeometry PoolGeometry(Tensor x, Tensor y, int kernel, int stride)
    {
        if (x.Rank != 4 || y.Rank != 4) throw new ArgumentException($"pool2d: x {x.ShapeString}, y {y.ShapeString} must be 4-D");
        var g = new WindowGeometry(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), kernel, stride, 0);
        g.Validate("pool2d");
        CheckWindowOutput("pool2d", g, y);
        return g;
    }

    internal static void CheckPad(Tensor x, Tensor y)
    {
        if (x.Rank != 4 || y.Rank != 4 || x.Dim(0) != y.Dim(0) || x.Dim(1) != y.Dim(1))
            throw new ArgumentException($"pad2d: x {x.ShapeString}, y {y.ShapeString} must be [B,C,H,W] with the same B and C");
    }

    private static void CheckWindowOutput(string op, WindowGeometry g, Tensor y)
    {
        if (y.Dim(0) != g.Batch || y.Dim(1) != g.Channels || y.Dim(2) != g.OutHeight || y.Dim(3) != g.OutWidth)
            throw new ArgumentException($"{op}: output {y.ShapeString} is not [{g.Batch},{g.Channels},{g.OutHeight},{g.OutWidth}]");
    }
}
