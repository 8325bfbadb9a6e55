using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// ldm BasicTransformerBlockV2 (pre-LN, residual branches): x += attn1(norm1(x)) (self-attention, or attention to the
/// context when self-attention is disabled); x += attn2(norm2(x), context); x += ff(norm3(x)) with the GEGLU
/// feed-forward (mult 4). LayerNorm eps 1e-5.
/// </summary>
public sealed class BasicTransformerBlock : Module
{
    /// <summary>attn1 attends to the text context instead of the tokens themselves (disable_self_attentions).</summary>
    public bool SelfAttnDisabled { get; }
    public LayerNorm Norm1 { get; }
    public CrossAttention Attn1 { get; }
    public LayerNorm Norm2 { get; }
    public CrossAttention Attn2 { get; }
    public LayerNorm Norm3 { get; }
    public FeedForward Ff { get; }

    public BasicTransformerBlock(int dim, int heads, int dimHead, int contextDim, bool disableSelfAttn = false)
    {
        SelfAttnDisabled = disableSelfAttn;
        Attn1 = Child("attn1", new CrossAttention(dim, disableSelfAttn ? contextDim : dim, heads, dimHead));
        Ff = Child("ff", new FeedForward(dim));
        Attn2 = Child("attn2", new CrossAttention(dim, contextDim, heads, dimHead));
        Norm1 = Child("norm1", new LayerNorm(dim));
        Norm2 = Child("norm2", new LayerNorm(dim));
        Norm3 = Child("norm3", new LayerNorm(dim));
    }

    public Tensor Forward(Tensor x, Tensor context)
    {
        var (y, _) = Run(x, context, null);
        return y;
    }

    /// <summary>As <see cref="Forward"/>, also returning attn2's head-averaged maps of the context positions <paramref name="mapKeys"/>.</summary>
    public (Tensor Output, Tensor Maps) ForwardWithMaps(Tensor x, Tensor context, int[] mapKeys)
    {
        var (y, maps) = Run(x, context, mapKeys);
        return (y, maps!);
    }

    /// <summary>
    /// <see cref="Forward"/> or (with <paramref name="mapKeys"/>) <see cref="ForwardWithMaps"/>, recomputed in backward when
    /// <paramref name="checkpoint"/> is set; Maps is null without map keys.
    /// </summary>
    public (Tensor Output, Tensor? Maps) Forward(Tensor x, Tensor context, int[]? mapKeys, bool checkpoint)
    {
        if (!checkpoint) return Run(x, context, mapKeys);
        var outputs = Autograd.Checkpoint.Run("transformer_block", this, [x, context], t =>
        {
            var (y, maps) = Run(t[0], t[1], mapKeys);
            return maps == null ? [y] : [y, maps];
        });
        return (outputs[0], outputs.Length > 1 ? outputs[1] : null);
    }

    private (Tensor Output, Tensor? Maps) Run(Tensor x, Tensor context, int[]? mapKeys)
    {
        using var n1 = Norm1.Forward(x);
        using var a1 = Attn1.Forward(n1, SelfAttnDisabled ? context : null);
        using var h1 = F.Add(a1, x);
        using var n2 = Norm2.Forward(h1);
        Tensor? maps = null;
        Tensor a2;
        if (mapKeys == null) a2 = Attn2.Forward(n2, context);
        else (a2, maps) = Attn2.ForwardWithMaps(n2, context, mapKeys);
        using var h2 = F.Add(a2, h1);
        a2.Dispose();
        using var n3 = Norm3.Forward(h2);
        using var f = Ff.Forward(n3);
        return (F.Add(f, h2), maps);
    }
}

/// <summary>ldm FeedForward with glu: GEGLU projection `net.0.proj` (C→8C, value|gate halves) then `net.2` (4C→C).</summary>
public sealed class FeedForward : Module
{
    public Linear Proj { get; }
    public Linear Out { get; }

    public FeedForward(int dim, int mult = 4)
    {
        Proj = Child("net.0.proj", new Linear(dim, 2 * mult * dim));
        Out = Child("net.2", new Linear(mult * dim, dim));
    }

    public Tensor Forward(Tensor x)
    {
        using var p = Proj.Forward(x);
        using var g = F.Geglu(p);
        return Out.Forward(g);
    }
}
