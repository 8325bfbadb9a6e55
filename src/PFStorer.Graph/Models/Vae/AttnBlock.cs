using PFStorer.Graph.Backends;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The VAE's single-head AttnBlock (mid.attn_1): q, k, v = 1×1 convs of norm(x); softmax over keys of qᵀk·C^−½;
/// out = x + proj_out(v·wᵀ).
/// </summary>
public sealed class AttnBlock : Module
{
    public GroupNorm Norm { get; }
    public Conv2d Q { get; }
    public Conv2d K { get; }
    public Conv2d V { get; }
    public Conv2d ProjOut { get; }

    public AttnBlock(int channels)
    {
        Norm = Child("norm", new GroupNorm(channels, 1e-6f));
        Q = Child("q", Conv2d.Pointwise(channels, channels));
        K = Child("k", Conv2d.Pointwise(channels, channels));
        V = Child("v", Conv2d.Pointwise(channels, channels));
        ProjOut = Child("proj_out", Conv2d.Pointwise(channels, channels));
    }

    public Tensor Forward(Tensor x)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        using var n = Norm.Forward(x);
        using var q = Tokens(Q, n);
        using var k = Tokens(K, n);
        using var v = Tokens(V, n);
        var result = F.Attention(q, k, v, new AttentionArgs(1, 1f / MathF.Sqrt(c)));
        using var o = result.Output;
        using var channelsFirst = F.Permute(o, 0, 2, 1);
        using var image = F.Reshape(channelsFirst, b, c, h, w);
        using var proj = ProjOut.Forward(image);
        return F.Add(x, proj);
    }

    private static Tensor Tokens(Conv2d conv, Tensor x)
    {
        using var y = conv.Forward(x);
        return SpatialTransformer.ToTokens(y);
    }
}
