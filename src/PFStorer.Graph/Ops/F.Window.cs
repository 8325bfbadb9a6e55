using PFStorer.Graph.Autograd;
using PFStorer.Kernels;
using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph;

public static partial class F
{
    /// <summary>Depthwise conv2d: x [B,C,H,W], w [C,1,k,k], bias [C]; symmetric zero padding. Inference only.</summary>
    public static Tensor DepthwiseConv2d(Tensor x, Tensor w, Tensor? bias, int stride = 1, int padding = 0)
    {
        CheckSameDevice(x, w, bias);
        RefuseGrad("depthwise conv2d", x, w, bias);
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"depthwise conv2d: x {x.ShapeString}, w {w.ShapeString} must be 4-D");
        int k = w.Dim(2);
        using var xc = Contig(x);
        var y = Tensor.Empty([x.Dim(0), x.Dim(1), (x.Dim(2) + 2 * padding - k) / stride + 1, (x.Dim(3) + 2 * padding - k) / stride + 1], DType.F32, x.Device);
        x.Backend.DepthwiseConv2d(xc, w, bias, y, stride, padding);
        return y;
    }

    /// <summary>Max pooling over k×k windows inside x (TensorFlow 'valid'). Inference only.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride) => Pool2d(PoolOp.Max, x, kernel, stride);

    /// <summary>Average pooling over k×k windows inside x (TensorFlow 'valid'). Inference only.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride) => Pool2d(PoolOp.Average, x, kernel, stride);

    private static Tensor Pool2d(PoolOp op, Tensor x, int kernel, int stride)
    {
        RefuseGrad("pool2d", x);
        if (x.Rank != 4) throw new ArgumentException($"pool2d: x {x.ShapeString} must be 4-D");
        using var xc = Contig(x);
        var y = Tensor.Empty([x.Dim(0), x.Dim(1), (x.Dim(2) - kernel) / stride + 1, (x.Dim(3) - kernel) / stride + 1], DType.F32, x.Device);
        x.Backend.Pool2d(op, xc, y, kernel, stride);
        return y;
    }

    /// <summary>Pads the two spatial dims of x [B,C,H,W] with <paramref name="value"/>, each side by its own amount. Inference only.</summary>
    public static Tensor Pad2d(Tensor x, int top, int bottom, int left, int right, float value = 0f)
    {
        RefuseGrad("pad2d", x);
        if (x.Rank != 4 || top < 0 || bottom < 0 || left < 0 || right < 0)
            throw new ArgumentException($"pad2d: x {x.ShapeString} must be 4-D and the padding ({top},{bottom},{left},{right}) non-negative");
        using var xc = Contig(x);
        var y = Tensor.Empty([x.Dim(0), x.Dim(1), x.Dim(2) + top + bottom, x.Dim(3) + left + right], DType.F32, x.Device);
        x.Backend.Pad2d(xc, y, top, left, value);
        return y;
    }

    /// <summary>The window ops have no backward yet: refuse loudly rather than cut the gradient silently.</summary>
    private static void RefuseGrad(string op, params Tensor?[] inputs)
    {
        if (Tape.ShouldRecord(inputs)) throw new NotSupportedException($"{op}: no backward (inference-only op); run it under no-grad or detach its inputs");
    }
}
