using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models.Faces;

/// <summary>
/// face-api's 68-point landmark network (docs/faces.md): a 112×112 RGB face in, 136 numbers out (x,y of 68 points,
/// relative to the padded square input). Four densely connected blocks of separable convolutions (32, 64, 128, 256
/// channels, each halving the size; the first opens with a plain convolution), a 7×7 average pool, then a dense layer.
/// </summary>
public sealed class FaceLandmarkNet : Module
{
    public const int InputSize = 112;
    public static readonly float[] MeanRgb = FaceRecognitionNet.MeanRgb;

    private readonly DenseBlock[] _blocks;
    private readonly FcLayer _fc;

    public FaceLandmarkNet()
    {
        _blocks = [Child("dense0", new DenseBlock(3, 32, true)), Child("dense1", new DenseBlock(32, 64, false)),
            Child("dense2", new DenseBlock(64, 128, false)), Child("dense3", new DenseBlock(128, 256, false))];
        _fc = Child("fc", new FcLayer(256, 136));
    }

    /// <summary>x: normalized faces [B,3,112,112]; returns [B,136] (x0,y0,x1,y1,… in [0,1] of the padded input).</summary>
    public Tensor Forward(Tensor x)
    {
        var h = x.Share();
        foreach (var block in _blocks)
        {
            var next = block.Forward(h);
            h.Dispose();
            h = next;
        }
        using (h)
        {
            using var pooled = F.AvgPool2d(h, 7, 2);
            using var flat = F.Reshape(pooled, pooled.Dim(0), pooled.Dim(1) * pooled.Dim(2) * pooled.Dim(3));
            return _fc.Forward(flat);
        }
    }

    /// <summary>face-api's dense layer names its matrix "weights" (engine layout [out,in]) beside "bias".</summary>
    private sealed class FcLayer : Module
    {
        private readonly Parameter _weights, _bias;

        public FcLayer(int inFeatures, int outFeatures)
        {
            _weights = Param("weights", outFeatures, inFeatures);
            _bias = Param("bias", outFeatures);
        }

        public Tensor Forward(Tensor x) => F.Linear(x, _weights.Tensor, _bias.Tensor);
    }
}

/// <summary>
/// face-api's dense block: out1 = ReLU(conv0(x)) at stride 2 ('same'), then three stride-1 separable convolutions, each
/// fed the ReLU of the sum of all earlier outputs; the block returns the ReLU of the sum of all four.
/// </summary>
public sealed class DenseBlock : Module
{
    private readonly TfConv? _plain0;
    private readonly TfSeparableConv? _sep0;
    private readonly TfSeparableConv[] _convs;

    public DenseBlock(int inChannels, int outChannels, bool firstIsPlain)
    {
        if (firstIsPlain) _plain0 = Child("conv0", new TfConv(inChannels, outChannels, 3));
        else _sep0 = Child("conv0", new TfSeparableConv(inChannels, outChannels));
        _convs = [Child("conv1", new TfSeparableConv(outChannels, outChannels)), Child("conv2", new TfSeparableConv(outChannels, outChannels)),
            Child("conv3", new TfSeparableConv(outChannels, outChannels))];
    }

    public Tensor Forward(Tensor x)
    {
        using var first = _plain0 != null ? _plain0.ForwardSame(x, 2) : _sep0!.ForwardSame(x, 2);
        var outs = new List<Tensor> { F.ReLU(first) };
        try
        {
            foreach (var conv in _convs)
            {
                using var input = outs.Count == 1 ? outs[0].Share() : ReluOfSum(outs);
                outs.Add(conv.ForwardSame(input, 1));
            }
            return ReluOfSum(outs);
        }
        finally
        {
            foreach (var t in outs) t.Dispose();
        }
    }

    /// <summary>ReLU(o₀ + (o₁ + (o₂ + …))): summed from the last, in face-api's order.</summary>
    private static Tensor ReluOfSum(List<Tensor> outs)
    {
        var sum = outs[^1].Share();
        for (int i = outs.Count - 2; i >= 0; i--)
        {
            var next = F.Add(outs[i], sum);
            sum.Dispose();
            sum = next;
        }
        using (sum) return F.ReLU(sum);
    }
}
