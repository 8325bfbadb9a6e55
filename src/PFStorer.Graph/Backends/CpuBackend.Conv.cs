using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public unsafe void Conv2d(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        var g = ConvGeometry(x, w, bias, y, stride, padding);
        fixed (float* px = F32(x), pw = F32(w), pb = bias == null ? default : F32(bias), py = F32(y))
            Conv2dCpu.Forward(g, px, pw, pb, py);
    }

    public unsafe void Conv2dBackward(Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? dbias, int stride, int padding)
    {
        var g = ConvGeometry(x, w, dbias, dy, stride, padding);
        CheckShape(dx, x, "dx");
        CheckShape(dw, w, "dw");
        fixed (float* px = F32(x), pw = F32(w), pdy = F32(dy), pdx = dx == null ? default : F32(dx), pdw = dw == null ? default : F32(dw),
               pdb = dbias == null ? default : F32(dbias))
            Conv2dCpu.Backward(g, px, pw, pdy, pdx, pdw, pdb);
    }

    private static Conv2dGeometry ConvGeometry(Tensor x, Tensor w, Tensor? bias, Tensor y, int stride, int padding)
    {
        if (x.Rank != 4 || w.Rank != 4 || y.Rank != 4)
            throw new ArgumentException($"conv2d: x {x.ShapeString}, w {w.ShapeString}, y {y.ShapeString} must be 4-D");
        var g = new Conv2dGeometry(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), w.Dim(0), w.Dim(2), w.Dim(3), stride, padding);
        g.Validate();
        if (w.Dim(1) != g.Channels || y.Dim(0) != g.Batch || y.Dim(1) != g.OutChannels || y.Dim(2) != g.OutHeight || y.Dim(3) != g.OutWidth)
            throw new ArgumentException($"conv2d: x {x.ShapeString} * w {w.ShapeString} (stride {stride}, padding {padding}) does not give {y.ShapeString}");
        if (bias != null && bias.Numel != g.OutChannels)
            throw new ArgumentException($"conv2d: bias {bias.ShapeString} must have {g.OutChannels} elements");
        return g;
    }

    private static void CheckShape(Tensor? grad, Tensor like, string what)
    {
        if (grad != null && !grad.Shape.SequenceEqual(like.Shape))
            throw new ArgumentException($"conv2d backward: {what} {grad.ShapeString} must match {like.ShapeString}");
    }
}
