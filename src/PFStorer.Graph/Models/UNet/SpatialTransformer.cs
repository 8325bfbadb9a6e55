using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// SpatialTransformerV2 with linear projections: x_in = x; h = GN(eps 1e-6)(x) as tokens [B,HW,C]; h = proj_in(h);
/// BasicTransformerBlocks; [optional <see cref="Hook"/>: h += hook(h)]; h = proj_out(h); back to [B,C,H,W]; + x_in.
/// </summary>
public sealed class SpatialTransformer : Module
{
    public GroupNorm Norm { get; }
    public Linear ProjIn { get; }
    public IReadOnlyList<BasicTransformerBlock> TransformerBlocks { get; }
    public Linear ProjOut { get; }

    /// <summary>The personalization hook point; null runs the plain StableSR transformer.</summary>
    public ITransformerHook? Hook { get; set; }

    public SpatialTransformer(int channels, int heads, int dimHead, int depth, int contextDim)
    {
        int inner = heads * dimHead;
        Norm = Child("norm", new GroupNorm(channels, 1e-6f));
        ProjIn = Child("proj_in", new Linear(channels, inner));
        TransformerBlocks = Enumerable.Range(0, depth)
            .Select(i => Child($"transformer_blocks.{i}", new BasicTransformerBlock(inner, heads, dimHead, contextDim))).ToArray();
        ProjOut = Child("proj_out", new Linear(inner, channels));
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        using var n = Norm.Forward(x);
        using var tokens = ToTokens(n);
        var t = ProjIn.Forward(tokens);
        foreach (var block in TransformerBlocks)
        {
            using var prev = t;
            t = block.Forward(prev, context);
        }
        if (Hook != null)
        {
            using var prev = t;
            using var residual = Hook.Residual(prev);
            t = F.Add(prev, residual);
        }
        using var projected = ProjOut.Forward(t);
        t.Dispose();
        using var channelsFirst = F.Permute(projected, 0, 2, 1);
        using var image = F.Reshape(channelsFirst, b, c, h, w);
        return F.Add(image, x);
    }

    /// <summary>[B,C,H,W] → [B,H·W,C] (rearrange 'b c h w -> b (h w) c').</summary>
    public static Tensor ToTokens(Tensor x)
    {
        using var flat = F.Reshape(x, x.Dim(0), x.Dim(1), x.Dim(2) * x.Dim(3));
        return F.Permute(flat, 0, 2, 1);
    }
}
