using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models.Faces;

/// <summary>
/// TensorFlow's 'same' padding for a k×k window moved by <paramref name="stride"/> over <paramref name="size"/> pixels:
/// the total padding, with the odd pixel (if any) after the input, never before (docs/faces.md).
/// </summary>
public static class TfPadding
{
    public static (int Before, int After) Same(int size, int kernel, int stride)
    {
        int outSize = (size + stride - 1) / stride;
        int total = Math.Max(0, (outSize - 1) * stride + kernel - size);
        return (total / 2, total - total / 2);
    }

    /// <summary>Pads x so that a 'valid' window op on the result equals TensorFlow's 'same' op on x.</summary>
    public static Tensor PadSame(Tensor x, int kernel, int stride, float value = 0f)
    {
        var (top, bottom) = Same(x.Dim(2), kernel, stride);
        var (left, right) = Same(x.Dim(3), kernel, stride);
        return F.Pad2d(x, top, bottom, left, right, value);
    }

    /// <summary>TensorFlow maxPool with 'same' padding: padded cells never win (−∞).</summary>
    public static Tensor MaxPoolSame(Tensor x, int kernel, int stride)
    {
        using var padded = PadSame(x, kernel, stride, float.NegativeInfinity);
        return F.MaxPool2d(padded, kernel, stride);
    }
}

/// <summary>face-api's plain convolution: "filters" [out,in,k,k] (engine layout) and "bias" [out].</summary>
public sealed class TfConv : Module
{
    public Parameter Filters { get; }
    public Parameter Bias { get; }

    public TfConv(int inChannels, int outChannels, int kernel)
    {
        Filters = Param("filters", outChannels, inChannels, kernel, kernel);
        Bias = Param("bias", outChannels);
    }

    public int Kernel => Filters.Shape[2];

    /// <summary>Convolution with symmetric zero padding (0 = TensorFlow 'valid').</summary>
    public Tensor Forward(Tensor x, int stride, int padding) => F.Conv2d(x, Filters.Tensor, Bias.Tensor, stride, padding);

    /// <summary>Convolution with TensorFlow 'same' padding (asymmetric when the total is odd).</summary>
    public Tensor ForwardSame(Tensor x, int stride)
    {
        using var padded = TfPadding.PadSame(x, Kernel, stride);
        return F.Conv2d(padded, Filters.Tensor, Bias.Tensor, stride, 0);
    }
}

/// <summary>
/// TensorFlow's separable convolution as face-api stores it: "depthwise_filter" [C,1,k,k], "pointwise_filter"
/// [out,C,1,1] and "bias" [out]: a depthwise k×k pass, then a 1×1 convolution that adds the bias.
/// </summary>
public sealed class TfSeparableConv : Module
{
    public Parameter Depthwise { get; }
    public Parameter Pointwise { get; }
    public Parameter Bias { get; }

    public TfSeparableConv(int inChannels, int outChannels, int kernel = 3)
    {
        Depthwise = Param("depthwise_filter", inChannels, 1, kernel, kernel);
        Pointwise = Param("pointwise_filter", outChannels, inChannels, 1, 1);
        Bias = Param("bias", outChannels);
    }

    /// <summary>Depthwise pass on an already padded input ('valid'), then the pointwise convolution.</summary>
    public Tensor ForwardValid(Tensor x, int stride)
    {
        using var d = F.DepthwiseConv2d(x, Depthwise.Tensor, null, stride, 0);
        return F.Conv2d(d, Pointwise.Tensor, Bias.Tensor, 1, 0);
    }

    /// <summary>With TensorFlow 'same' padding.</summary>
    public Tensor ForwardSame(Tensor x, int stride)
    {
        using var padded = TfPadding.PadSame(x, Depthwise.Shape[2], stride);
        return ForwardValid(padded, stride);
    }
}
