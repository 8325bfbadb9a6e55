using PFStorer.Kernels.Cpu;

namespace PFStorer.Graph.Backends;

public sealed partial class CpuBackend
{
    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor? probs, AttentionArgs args)
    {
        var p = AttentionProblemOf(q, k, v, args);
        AttentionCpu.Forward(p, F32(q), F32(k), F32(v), KeyMask(args, p), args.ProbKeys, F32(o), F32(lse), probs == null ? default : F32(probs));
    }

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, Tensor? dProbs, Tensor? dq, Tensor? dk, Tensor? dv, AttentionArgs args)
    {
        var p = AttentionProblemOf(q, k, v, args);
        // An empty span tells the kernel that gradient is not needed.
        AttentionCpu.Backward(p, F32(q), F32(k), F32(v), F32(o), F32(lse), F32(dO), dProbs == null ? default : F32(dProbs),
            KeyMask(args, p), args.ProbKeys, dq == null ? default : F32(dq), dk == null ? default : F32(dk), dv == null ? default : F32(dv));
    }

    private static AttentionProblem AttentionProblemOf(Tensor q, Tensor k, Tensor v, AttentionArgs args)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3)
            throw new ArgumentException($"attention: q {q.ShapeString}, k {k.ShapeString}, v {v.ShapeString} must be [B, T, H·D]");
        if (args.Heads < 1 || q.Dim(2) % args.Heads != 0 || v.Dim(2) % args.Heads != 0)
            throw new ArgumentException($"attention: widths {q.Dim(2)}/{v.Dim(2)} do not split into {args.Heads} heads");
        return new AttentionProblem(q.Dim(0), args.Heads, q.Dim(1), k.Dim(1), q.Dim(2) / args.Heads, v.Dim(2) / args.Heads, args.Scale, args.Causal);
    }

    private static ReadOnlySpan<float> KeyMask(AttentionArgs args, in AttentionProblem p)
    {
        if (args.KeyMask is not { } mask) return default;
        if (mask.Rank != 2 || mask.Dim(0) != p.Batch || mask.Dim(1) != p.KeyLength)
            throw new ArgumentException($"attention: key mask {mask.ShapeString} must be [{p.Batch},{p.KeyLength}]");
        return F32(mask);
    }
}
