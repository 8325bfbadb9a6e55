using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models.Faces;

/// <summary>
/// face-api's face recognition network (a dlib-style ResNet-34 variant, docs/faces.md): a 150×150 RGB face in, a
/// 128-D descriptor out. A 7×7 stride-2 stem with 3×3 max pooling, four stages of residual blocks (32, 64, 128, 256
/// channels; each stage after the first opens with a stride-2 block), one more stride-2 block, global average
/// pooling and a bias-free 256→128 matrix. Every convolution is followed by a per-channel scale and shift.
/// Parameter names are face-api's (see <see cref="Checkpoints.FaceApiKeyMap"/>).
/// </summary>
public sealed class FaceRecognitionNet : Module
{
    public const int InputSize = 150;
    public const int DescriptorLength = 128;
    /// <summary>face-api's per-channel RGB mean for this net (0–255 scale); inputs are (x − mean) / 255.</summary>
    public static readonly float[] MeanRgb = [122.782f, 117.001f, 104.298f];

    private readonly ScaledConv _stem;
    private readonly (string Name, ResidualBlock Block)[] _blocks;
    private readonly Parameter _fc;

    public FaceRecognitionNet()
    {
        _stem = Child("conv32_down", new ScaledConv(3, 32, 7));
        _blocks =
        [
            Block("conv32_1", 32, 32, false), Block("conv32_2", 32, 32, false), Block("conv32_3", 32, 32, false),
            Block("conv64_down", 32, 64, true), Block("conv64_1", 64, 64, false), Block("conv64_2", 64, 64, false), Block("conv64_3", 64, 64, false),
            Block("conv128_down", 64, 128, true), Block("conv128_1", 128, 128, false), Block("conv128_2", 128, 128, false),
            Block("conv256_down", 128, 256, true), Block("conv256_1", 256, 256, false), Block("conv256_2", 256, 256, false),
            Block("conv256_down_out", 256, 256, true),
        ];
        _fc = Param("fc", DescriptorLength, 256);
    }

    private (string, ResidualBlock) Block(string name, int inCh, int outCh, bool down) => (name, Child(name, new ResidualBlock(inCh, outCh, down)));

    /// <summary>x: normalized faces [B,3,150,150]; returns descriptors [B,128].</summary>
    public Tensor Forward(Tensor x)
    {
        using var stem = _stem.Forward(x, stride: 2, padding: 0, relu: true);
        var h = F.MaxPool2d(stem, 3, 2);
        foreach (var (_, block) in _blocks)
        {
            var next = block.Forward(h);
            h.Dispose();
            h = next;
        }
        using (h)
        {
            using var flat = F.Reshape(h, h.Dim(0), h.Dim(1), h.Dim(2) * h.Dim(3));
            using var pooled = F.Mean(flat, 2);
            return F.Linear(pooled, _fc.Tensor);
        }
    }
}

/// <summary>A convolution ("conv": filters, bias) followed by a per-channel affine map ("scale": weights, biases).</summary>
public sealed class ScaledConv : Module
{
    private readonly TfConv _conv;
    private readonly Parameter _weights, _biases;

    public ScaledConv(int inChannels, int outChannels, int kernel)
    {
        _conv = Child("conv", new TfConv(inChannels, outChannels, kernel));
        var scale = Child("scale", new ScaleParams(outChannels));
        (_weights, _biases) = (scale.Weights, scale.Biases);
    }

    public Tensor Forward(Tensor x, int stride, int padding, bool relu)
    {
        using var c = _conv.Forward(x, stride, padding);
        int ch = c.Dim(1);
        using var w = F.Reshape(_weights.Tensor, ch, 1, 1);
        using var b = F.Reshape(_biases.Tensor, ch, 1, 1);
        using var scaled = F.Mul(c, w);
        var shifted = F.Add(scaled, b);
        if (!relu) return shifted;
        using (shifted) return F.ReLU(shifted);
    }

    private sealed class ScaleParams : Module
    {
        public Parameter Weights { get; }
        public Parameter Biases { get; }

        public ScaleParams(int channels)
        {
            Weights = Param("weights", channels);
            Biases = Param("biases", channels);
        }
    }
}

/// <summary>
/// Two 3×3 scaled convolutions and a skip connection, ReLU after the sum. A down block's first convolution has stride
/// 2 and no padding, and its skip is a 2×2 average pool, zero-extended in channels (and, where the strided path came
/// out one pixel smaller, the strided path is zero-extended at the bottom and right) as face-api does.
/// </summary>
public sealed class ResidualBlock : Module
{
    private readonly ScaledConv _conv1, _conv2;
    private readonly bool _down;

    public ResidualBlock(int inChannels, int outChannels, bool down)
    {
        if (!down && inChannels != outChannels) throw new ArgumentException("a residual block that keeps the size must keep the channels");
        _conv1 = Child("conv1", new ScaledConv(inChannels, outChannels, 3));
        _conv2 = Child("conv2", new ScaledConv(outChannels, outChannels, 3));
        _down = down;
    }

    public Tensor Forward(Tensor x)
    {
        using var a = _down ? _conv1.Forward(x, stride: 2, padding: 0, relu: true) : _conv1.Forward(x, stride: 1, padding: 1, relu: true);
        var path = _conv2.Forward(a, stride: 1, padding: 1, relu: false);
        Tensor skip = _down ? F.AvgPool2d(x, 2, 2) : x.Share();
        try
        {
            if (skip.Dim(1) != path.Dim(1))
            {
                using var zeros = Tensor.Zeros([skip.Dim(0), path.Dim(1) - skip.Dim(1), skip.Dim(2), skip.Dim(3)], Kernels.DType.F32, skip.Device);
                var widened = F.Concat([skip, zeros], 1);
                skip.Dispose();
                skip = widened;
            }
            if (skip.Dim(2) != path.Dim(2) || skip.Dim(3) != path.Dim(3))
            {
                var grown = F.Pad2d(path, 0, 1, 0, 1);
                path.Dispose();
                path = grown;
            }
            using var sum = F.Add(skip, path);
            return F.ReLU(sum);
        }
        finally
        {
            skip.Dispose();
            path.Dispose();
        }
    }
}
