using PFStorer.Graph.Backends;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// ldm CrossAttention: q = to_q(x), k = to_k(ctx), v = to_v(ctx) (no biases; ctx = x for self-attention), multi-head
/// softmax(q·kᵀ/√d_head)·v, then to_out.0 (with bias). Tokens are [B,T,C] with heads interleaved in C.
/// </summary>
public sealed class CrossAttention : Module
{
    public int Heads { get; }
    public int DimHead { get; }
    public Linear ToQ { get; }
    public Linear ToK { get; }
    public Linear ToV { get; }
    public Linear ToOut { get; }

    public CrossAttention(int queryDim, int contextDim, int heads, int dimHead)
    {
        Heads = heads;
        DimHead = dimHead;
        int inner = heads * dimHead;
        ToQ = Child("to_q", new Linear(queryDim, inner, bias: false));
        ToK = Child("to_k", new Linear(contextDim, inner, bias: false));
        ToV = Child("to_v", new Linear(contextDim, inner, bias: false));
        ToOut = Child("to_out.0", new Linear(inner, queryDim));
    }

    /// <summary>
    /// x [B,Tq,C], context [B,Tk,ctx] (null: self-attention). keyMask [B,Tk] (0 = masked) serves ViCo-style masked
    /// cross-attention to reference tokens.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor? context = null, Tensor? keyMask = null)
    {
        var (output, _) = Run(x, context, keyMask, null);
        return output;
    }

    /// <summary>
    /// As <see cref="Forward"/>, and also the head-averaged attention maps of the context positions
    /// <paramref name="mapKeys"/> ([B·n], n per batch row) as [B,Tq,n]: the placeholder and end-of-text maps that
    /// personalization reads from the reference stream (docs/personalization.md, "Masks").
    /// </summary>
    public (Tensor Output, Tensor Maps) ForwardWithMaps(Tensor x, Tensor context, int[] mapKeys)
    {
        var (output, maps) = Run(x, context, null, mapKeys);
        return (output, maps!);
    }

    private (Tensor Output, Tensor? Maps) Run(Tensor x, Tensor? context, Tensor? keyMask, int[]? mapKeys)
    {
        var ctx = context ?? x;
        using var q = ToQ.Forward(x);
        using var k = ToK.Forward(ctx);
        using var v = ToV.Forward(ctx);
        var result = F.Attention(q, k, v, new AttentionArgs(Heads, 1f / MathF.Sqrt(DimHead), keyMask, ProbKeys: mapKeys));
        using var o = result.Output;
        return (ToOut.Forward(o), result.Probs);
    }
}
