using PFStorer.Graph.Backends;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The time-aware encoder's AttentionBlock with QKVAttentionLegacy: qkv = Conv1d(C→3C)(GN32(x)) on x [B,C,H·W];
/// head h owns rows [h·3ch, h·3ch+ch) as q, the next ch as k, the next ch as v (ch = C/heads); softmax(qᵀk/√ch);
/// out = x + proj_out(attention), heads concatenated as channel h·ch + c.
/// </summary>
public sealed class AttentionBlock : Module
{
    public int Heads { get; }
    public GroupNorm Norm { get; }
    public Conv1d Qkv { get; }
    public Conv1d ProjOut { get; }

    public AttentionBlock(int channels, int heads)
    {
        if (channels % heads != 0) throw new ArgumentException($"AttentionBlock: {channels} channels do not split into {heads} heads");
        Heads = heads;
        Norm = Child("norm", new GroupNorm(channels, 1e-5f));
        Qkv = Child("qkv", new Conv1d(channels, 3 * channels));
        ProjOut = Child("proj_out", new Conv1d(channels, channels));
    }

    public Tensor Forward(Tensor x)
    {
        int b = x.Dim(0), c = x.Dim(1), t = x.Dim(2) * x.Dim(3);
        using var flat = F.Reshape(x, b, c, t);
        using var n = Norm.Forward(flat);
        using var qkv = Qkv.Forward(n);
        using var a = Attention(qkv);
        using var proj = ProjOut.Forward(a);
        using var sum = F.Add(flat, proj);
        return F.Reshape(sum, x.ShapeArray());
    }

    /// <summary>QKVAttentionLegacy on qkv [B,3C,T] → [B,C,T].</summary>
    public Tensor Attention(Tensor qkv)
    {
        int b = qkv.Dim(0), c = qkv.Dim(1) / 3, t = qkv.Dim(2), ch = c / Heads;
        // [B, heads, (q|k|v), ch, T] → [(q|k|v), B, T, heads, ch]: each of q, k, v becomes [B,T,C] with heads interleaved.
        using var split = F.Reshape(qkv, b, Heads, 3, ch, t);
        using var tokens = F.Permute(split, 2, 0, 4, 1, 3);
        var parts = F.Split(tokens, 0, 1, 1, 1);
        try
        {
            using var q = F.Reshape(parts[0], b, t, c);
            using var k = F.Reshape(parts[1], b, t, c);
            using var v = F.Reshape(parts[2], b, t, c);
            var result = F.Attention(q, k, v, new AttentionArgs(Heads, 1f / MathF.Sqrt(ch)));
            using var o = result.Output;
            return F.Permute(o, 0, 2, 1);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }
}
