using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>Nearest 2× upsampling then Conv2d 3×3 padding 1 ("conv"); the UNet's and the VAE decoder's Upsample are the same.</summary>
public sealed class Upsample : Module
{
    public Conv2d Conv { get; }

    public Upsample(int channels) => Conv = Child("conv", Conv2d.Same3x3(channels, channels));

    public Tensor Forward(Tensor x)
    {
        using var up = F.Upsample2x(x);
        return Conv.Forward(up);
    }
}
