using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE's ResnetBlock (no time embedding): h = conv1(SiLU(norm1(x))); h = conv2(SiLU(norm2(h))); out = x' + h with
/// x' = nin_shortcut(x) (1×1) when the widths differ. Normalize = GN32 with eps 1e-6. CFW's fusion ResBlock is the
/// same computation with the shortcut named "conv_out".
/// </summary>
public sealed class ResnetBlock : Module
{
    public GroupNorm Norm1 { get; }
    public Conv2d Conv1 { get; }
    public GroupNorm Norm2 { get; }
    public Conv2d Conv2 { get; }
    public Conv2d? Shortcut { get; }

    public ResnetBlock(int inChannels, int outChannels, string shortcutName = "nin_shortcut")
    {
        Norm1 = Child("norm1", new GroupNorm(inChannels, 1e-6f));
        Conv1 = Child("conv1", Conv2d.Same3x3(inChannels, outChannels));
        Norm2 = Child("norm2", new GroupNorm(outChannels, 1e-6f));
        Conv2 = Child("conv2", Conv2d.Same3x3(outChannels, outChannels));
        if (inChannels != outChannels) Shortcut = Child(shortcutName, Conv2d.Pointwise(inChannels, outChannels));
    }

    public Tensor Forward(Tensor x)
    {
        using var n1 = Norm1.Forward(x, silu: true);
        using var h1 = Conv1.Forward(n1);
        using var n2 = Norm2.Forward(h1, silu: true);
        using var h2 = Conv2.Forward(n2);
        using var shortcut = Shortcut?.Forward(x);
        return F.Add(shortcut ?? x, h2);
    }
}
