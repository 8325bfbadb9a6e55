using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Depthwise conv2d: x [B,C,H,W], w [C,1,k,k], bias [C]; symmetric zero padding. Inference only.</summary>
    public static Tensor DepthwiseConv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0)
    {
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"depthwise conv2d: x {x.ShapeString}, w {w.ShapeString} must be 4-D");
        int k = w.Dim(2);
        return Apply("depthwise conv2d", [x, w, bias], [x.Dim(0), x.Dim(1), (x.Dim(2) + 2 * padding - k) / stride + 1, (x.Dim(3) + 2 * padding - k) / stride + 1],
            (i, y) => y.Backend.DepthwiseConv2d(i[0]!, i[1]!, i[2], y, stride, padding), backward: null);
    }

    /// <summary>Max pooling over k×k windows inside x (TensorFlow 'valid'). Inference only.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride) => Pool2d(PoolOp.Max, x, kernel, stride);

    /// <summary>Average pooling over k×k windows inside x (TensorFlow 'valid'). Inference only.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride) => Pool2d(PoolOp.Average, x, kernel, stride);

    private static Tensor Pool2d(PoolOp op, Tensor x, int kernel, int stride)
    {
        if (x.Rank != 4) throw new ArgumentException($"pool2d: x {x.ShapeString} must be 4-D");
        return Apply("pool2d", [x], [x.Dim(0), x.Dim(1), (x.Dim(2) - kernel) / stride + 1, (x.Dim(3) - kernel) / stride + 1],
            (i, y) => y.Backend.Pool2d(op, i[0]!, y, kernel, stride), backward: null);
    }

    /// <summary>Pads the two spatial dims of x [B,C,H,W] with <paramref name="value"/>, each side by its own amount. Inference only.</summary>
    public static Tensor Pad2d(Tensor x, int top, int bottom, int left, int right, float value = 0f)
    {
        if (x.Rank != 4 || top < 0 || bottom < 0 || left < 0 || right < 0)
            throw new ArgumentException($"pad2d: x {x.ShapeString} must be 4-D and the padding ({top},{bottom},{left},{right}) non-negative");
        return Apply("pad2d", [x], [x.Dim(0), x.Dim(1), x.Dim(2) + top + bottom, x.Dim(3) + left + right],
            (i, y) => y.Backend.Pad2d(i[0]!, y, top, left, value), backward: null);
    }
}
