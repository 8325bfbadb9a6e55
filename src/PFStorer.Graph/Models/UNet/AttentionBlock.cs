using PFStorer.Graph.Backends;
using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// The time-aware encoder's AttentionBlock: qkv = Conv1d(C→3C)(GN32(x)) on x [B,C,H·W]; softmax(qᵀk/√ch) per head
/// (ch = C/heads); out = x + proj_out(attention), heads concatenated as channel h·ch + c. How qkv's rows split
/// differs: QKVAttentionLegacy (the default) gives head h rows [h·3ch, h·3ch+ch) as q, the next ch as k, the next
/// ch as v; QKVAttention (use_new_attention_order) first cuts q | k | v, then each into heads.
/// </summary>
public sealed class AttentionBlock : Module
{
    public int Heads { get; }
    public bool NewAttentionOrder { get; }
    public GroupNorm Norm { get; }
    public Conv1d Qkv { get; }
    public Conv1d ProjOut { get; }

    public AttentionBlock(int channels, int heads, bool newAttentionOrder = false)
    {
        if (channels % heads != 0) throw new ArgumentException($"AttentionBlock: {channels} channels do not split into {heads} heads");
        Heads = heads;
        NewAttentionOrder = newAttentionOrder;
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

    /// <summary>QKVAttentionLegacy (or QKVAttention) on qkv [B,3C,T] → [B,C,T].</summary>
    public Tensor Attention(Tensor qkv)
    {
        int b = qkv.Dim(0), c = qkv.Dim(1) / 3, t = qkv.Dim(2), ch = c / Heads;
        // [B, heads, (q|k|v), ch, T] or [B, (q|k|v), heads, ch, T] → [(q|k|v), B, T, heads, ch]: each of q, k, v
        // becomes [B,T,C] with heads interleaved.
        using var split = NewAttentionOrder ? F.Reshape(qkv, b, 3, Heads, ch, t) : F.Reshape(qkv, b, Heads, 3, ch, t);
        using var tokens = NewAttentionOrder ? F.Permute(split, 1, 0, 4, 2, 3) : F.Permute(split, 2, 0, 4, 1, 3);
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
