using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models.Faces;

/// <summary>
/// face-api's tiny face detector (a Tiny-YOLOv2 variant with separable convolutions, docs/faces.md): an RGB square
/// (416×416 by default, any multiple of 32) in, a grid of 5 anchor boxes per cell out, 5 numbers per box (x, y, w, h,
/// score logits). A 3×3 convolution and five separable convolutions with leaky ReLU (slope 0.1), max pooling after
/// each ('same': five halvings, then one stride-1 pool), and a 1×1 output convolution.
/// </summary>
public sealed class TinyFaceDetectorNet : Module
{
    public const int DefaultInputSize = 416;
    public const float LeakySlope = 0.1f;
    public static readonly float[] MeanRgb = [117.001f, 114.697f, 97.404f];
    /// <summary>Anchor sizes (width, height) in grid cells.</summary>
    public static readonly (double W, double H)[] Anchors = [(1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061), (4.266906, 5.178857), (9.041765, 10.66308)];
    public const int BoxEncoding = 5;

    private readonly TfConv _conv0, _conv8;
    private readonly TfSeparableConv[] _separable;

    public TinyFaceDetectorNet()
    {
        _conv0 = Child("conv0", new TfConv(3, 16, 3));
        _separable = [Child("conv1", new TfSeparableConv(16, 32)), Child("conv2", new TfSeparableConv(32, 64)), Child("conv3", new TfSeparableConv(64, 128)),
            Child("conv4", new TfSeparableConv(128, 256)), Child("conv5", new TfSeparableConv(256, 512))];
        _conv8 = Child("conv8", new TfConv(512, Anchors.Length * BoxEncoding, 1));
    }

    /// <summary>x: normalized images [B,3,S,S]; returns [B, 5·5, S/32, S/32] (channel = anchor·5 + field).</summary>
    public Tensor Forward(Tensor x)
    {
        Tensor h;
        using (var c0 = _conv0.Forward(x, 1, 0))
        using (var a0 = F.LeakyReLU(c0, LeakySlope))
            h = TfPadding.MaxPoolSame(a0, 2, 2);
        for (int i = 0; i < _separable.Length; i++)
        {
            using var padded = F.Pad2d(h, 1, 1, 1, 1);
            h.Dispose();
            using var c = _separable[i].ForwardValid(padded, 1);
            using var a = F.LeakyReLU(c, LeakySlope);
            h = TfPadding.MaxPoolSame(a, 2, i < _separable.Length - 1 ? 2 : 1);
        }
        using (h) return _conv8.Forward(h, 1, 0);
    }
}
