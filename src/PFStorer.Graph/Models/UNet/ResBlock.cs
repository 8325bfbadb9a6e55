using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The diffusion ResBlock (openaimodel.py) without scale-shift norm or up/down: h = in_layers(x) + emb_layers(emb);
/// h = out_layers(h); out = skip(x) + h. With a <see cref="Spade"/> it is ResBlockDual: the branch output goes through
/// SPADE before the residual add. Skip is identity when the widths agree, else a 1×1 conv.
/// </summary>
public sealed class ResBlock : Module
{
    public GroupNorm InNorm { get; }
    public Conv2d InConv { get; }
    public Linear EmbProjection { get; }
    public GroupNorm OutNorm { get; }
    public Conv2d OutConv { get; }
    public Conv2d? SkipConnection { get; }
    public Spade? Spade { get; }

    public ResBlock(int inChannels, int embChannels, int outChannels, int? sembChannels = null)
    {
        InNorm = Child("in_layers.0", new GroupNorm(inChannels, 1e-5f));
        InConv = Child("in_layers.2", Conv2d.Same3x3(inChannels, outChannels));
        EmbProjection = Child("emb_layers.1", new Linear(embChannels, outChannels));
        OutNorm = Child("out_layers.0", new GroupNorm(outChannels, 1e-5f));
        OutConv = Child("out_layers.3", Conv2d.Same3x3(outChannels, outChannels));
        if (inChannels != outChannels) SkipConnection = Child("skip_connection", Conv2d.Pointwise(inChannels, outChannels));
        if (sembChannels is int semb) Spade = Child("spade", new Spade(outChannels, semb));
    }

    /// <summary>ResBlockDual with its SPADE; plain ResBlock (time-aware encoder) without.</summary>
    public static ResBlock Dual(int inChannels, int embChannels, int outChannels, int sembChannels) => new(inChannels, embChannels, outChannels, sembChannels);

    /// <summary>As <see cref="Forward(Tensor, Tensor, StructCond?)"/>; with <paramref name="checkpoint"/> recomputed in backward.</summary>
    public Tensor Forward(Tensor x, Tensor emb, StructCond? structCond, bool checkpoint)
    {
        if (!checkpoint) return Forward(x, emb, structCond);
        // The SPADE map of this block's width (ResBlocks keep the width) is an input of its own: the recomputation runs
        // after the caller has released the struct-cond features.
        Tensor[] inputs = Spade == null ? [x, emb] : [x, emb, structCond?[x.Dim(-1)] ?? throw new ArgumentException("ResBlockDual needs the struct-cond features")];
        return Autograd.Checkpoint.Run("resblock", this, inputs, t =>
            [Forward(t[0], t[1], t.Length > 2 ? new StructCond(new Dictionary<int, Tensor> { [t[2].Dim(-1)] = t[2] }) : null)])[0];
    }

    public Tensor Forward(Tensor x, Tensor emb, StructCond? structCond = null)
    {
        using var h = InLayers(x);
        using var e = EmbLayers(emb);
        using var e4 = F.Reshape(e, e.Dim(0), e.Dim(1), 1, 1);
        using var sum = F.Add(h, e4);
        using var branch = OutLayers(sum);
        // Optional pieces are used in place (not through Share(), which would drop the autograd link).
        using var modulated = Spade?.Forward(branch, structCond ?? throw new ArgumentException("ResBlockDual needs the struct-cond features"));
        using var skip = SkipConnection?.Forward(x);
        return F.Add(skip ?? x, modulated ?? branch);
    }

    /// <summary>`in_layers`: GN → SiLU → conv.</summary>
    public Tensor InLayers(Tensor x)
    {
        using var n = InNorm.Forward(x, silu: true);
        return InConv.Forward(n);
    }

    /// <summary>`emb_layers`: SiLU → Linear, [B, E] → [B, C_out].</summary>
    public Tensor EmbLayers(Tensor emb)
    {
        using var a = F.SiLU(emb);
        return EmbProjection.Forward(a);
    }

    /// <summary>`out_layers`: GN → SiLU → (dropout 0) → conv.</summary>
    public Tensor OutLayers(Tensor h)
    {
        using var n = OutNorm.Forward(h, silu: true);
        return OutConv.Forward(n);
    }
}
