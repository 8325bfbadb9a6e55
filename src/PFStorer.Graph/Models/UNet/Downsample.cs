using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>UNet/encoder Downsample: Conv2d 3×3, stride 2, padding 1 ("op").</summary>
public sealed class Downsample : Module
{
    public Conv2d Op { get; }

    public Downsample(int channels) => Op = Child("op", new Conv2d(channels, channels, 3, stride: 2, padding: 1));

    public Tensor Forward(Tensor x) => Op.Forward(x);
}
