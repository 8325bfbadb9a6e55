using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE's Downsample: zero-pad one column on the right and one row at the bottom, then Conv2d 3×3 stride 2 with no
/// padding ("conv"). The asymmetric pad is built with concatenations, so it needs no op of its own.
/// </summary>
public sealed class VaeDownsample : Module
{
    public Conv2d Conv { get; }

    public VaeDownsample(int channels) => Conv = Child("conv", new Conv2d(channels, channels, 3, stride: 2, padding: 0));

    public Tensor Forward(Tensor x)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        using var column = Tensor.Zeros([b, c, h, 1], device: x.Device);
        using var wide = F.Concat([x, column], 3);
        using var row = Tensor.Zeros([b, c, 1, w + 1], device: x.Device);
        using var padded = F.Concat([wide, row], 2);
        return Conv.Forward(padded);
    }
}
