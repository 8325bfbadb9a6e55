using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>torch.nn.Conv2d with a square kernel and symmetric zero padding: "weight" [O,C,k,k], "bias" [O].</summary>
public sealed class Conv2d : Module
{
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public int Stride { get; }
    public int Padding { get; }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
    {
        Weight = Param("weight", outChannels, inChannels, kernel, kernel);
        Bias = bias ? Param("bias", outChannels) : null;
        Stride = stride;
        Padding = padding;
    }

    /// <summary>3×3, stride 1, padding 1: the convolution every block of StableSR uses.</summary>
    public static Conv2d Same3x3(int inChannels, int outChannels) => new(inChannels, outChannels, 3, 1, 1);

    public static Conv2d Pointwise(int inChannels, int outChannels) => new(inChannels, outChannels, 1);

    public Tensor Forward(Tensor x) => F.Conv2d(x, Weight.Tensor, Bias?.Tensor, Stride, Padding);
}
