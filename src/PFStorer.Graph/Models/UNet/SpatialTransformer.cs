using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// SpatialTransformerV2: x_in = x; h = GN(eps 1e-6)(x) as tokens [B,HW,C]; h = proj_in(h); BasicTransformerBlocks;
/// [with an attached <see cref="Personalization"/> block and a personalization pass: PFStorer's x̂ = x + γ ⊙ δ on the
/// generated stream]; h = proj_out(h); back to [B,C,H,W]; + x_in. The projections are Linear
/// (use_linear_in_transformer) or 1×1 convs, which act on tokens alike (docs/config.md).
/// </summary>
public sealed class SpatialTransformer : Module
{
    public GroupNorm Norm { get; }
    public Linear ProjIn { get; }
    public IReadOnlyList<BasicTransformerBlock> TransformerBlocks { get; }
    public Linear ProjOut { get; }

    /// <summary>The attached personalization block (a child named "personalization"), or null.</summary>
    public PersonalizationBlock? Personalization { get; private set; }

    public SpatialTransformer(int channels, int heads, int dimHead, int depth, int contextDim, bool linearProjections = true, bool disableSelfAttn = false)
    {
        int inner = heads * dimHead;
        Linear Projection(int from, int to) => linearProjections ? new Linear(from, to) : Linear.PointwiseConv(from, to);
        Norm = Child("norm", new GroupNorm(channels, 1e-6f));
        ProjIn = Child("proj_in", Projection(channels, inner));
        TransformerBlocks = Enumerable.Range(0, depth)
            .Select(i => Child($"transformer_blocks.{i}", new BasicTransformerBlock(inner, heads, dimHead, contextDim, disableSelfAttn))).ToArray();
        ProjOut = Child("proj_out", Projection(inner, channels));
    }

    /// <summary>Attaches a personalization block between the BasicTransformerBlocks and proj_out; the base weights are untouched.</summary>
    public void Attach(PersonalizationBlock block)
    {
        if (Personalization != null) throw new InvalidOperationException($"a personalization block is already attached at {block.Placement}");
        if (block.Dim != ProjIn.Weight.Shape[0]) throw new ArgumentException($"personalization block of width {block.Dim} does not fit a transformer of width {ProjIn.Weight.Shape[0]}");
        Personalization = Child("personalization", block);
    }

    /// <summary>Detaches the personalization block (not disposed) and returns it; the transformer is plain StableSR again.</summary>
    public PersonalizationBlock? Detach()
    {
        var block = Personalization;
        if (block != null) RemoveChild(block);
        Personalization = null;
        return block;
    }

    /// <summary>
    /// Without a personalization pass (or block) this is the plain StableSR transformer. With <paramref name="checkpoint"/>
    /// each BasicTransformerBlock is recomputed in backward (the personalization block is not: it adds L_Pers to the pass).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor context, PersonalizationPass? pass = null, bool checkpoint = false)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        bool personalize = Personalization != null && pass != null;
        using var n = Norm.Forward(x);
        using var tokens = ToTokens(n);
        var t = ProjIn.Forward(tokens);
        Tensor? maps = null;
        for (int i = 0; i < TransformerBlocks.Count; i++)
        {
            using var prev = t;
            // The reference maps come from the first block's text cross-attention (ViCo's transformer_blocks.0.attn2).
            if (personalize && i == 0) (t, maps) = TransformerBlocks[i].Forward(prev, context, pass!.MapKeys, checkpoint);
            else (t, _) = TransformerBlocks[i].Forward(prev, context, null, checkpoint);
        }
        if (personalize)
        {
            using var prev = t;
            using (maps) t = Personalization!.Forward(prev, maps!, pass!);
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
