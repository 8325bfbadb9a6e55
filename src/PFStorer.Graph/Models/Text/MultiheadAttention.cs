using PFStorer.Graph.Backends;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// torch.nn.MultiheadAttention as OpenCLIP uses it (self-attention, batch-first here): in_proj_weight [3W,W] rows
/// Q | K | V with in_proj_bias [3W], softmax(q·kᵀ/√d_head) per head, out_proj. Causal: query i sees keys ≤ i.
/// </summary>
public sealed class MultiheadAttention : Module
{
    public int Heads { get; }
    public Parameter InProjWeight { get; }
    public Parameter InProjBias { get; }
    public Linear OutProj { get; }

    public MultiheadAttention(int width, int heads)
    {
        if (width % heads != 0) throw new ArgumentException($"MultiheadAttention: width {width} does not split into {heads} heads");
        Heads = heads;
        InProjWeight = Param("in_proj_weight", 3 * width, width);
        InProjBias = Param("in_proj_bias", 3 * width);
        OutProj = Child("out_proj", new Linear(width, width));
    }

    /// <summary>x [B,T,W] → [B,T,W].</summary>
    public Tensor Forward(Tensor x, bool causal)
    {
        int w = x.Dim(-1);
        using var qkv = F.Linear(x, InProjWeight.Tensor, InProjBias.Tensor);
        var parts = F.Split(qkv, -1, w, w, w);
        try
        {
            var result = F.Attention(parts[0], parts[1], parts[2], new AttentionArgs(Heads, 1f / MathF.Sqrt(w / Heads), Causal: causal));
            using var o = result.Output;
            return OutProj.Forward(o);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
