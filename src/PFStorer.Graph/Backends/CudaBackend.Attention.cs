using PFStorer.Kernels;
using PFStorer.Kernels.Cuda;

namespace PFStorer.Graph.Backends;

public sealed partial class CudaBackend
{
    private static readonly KernelFamily AttentionKernels = new("attention", [
        .. KernelFamily.PerFloatType(t => AttentionLanes.ToArray().SelectMany(n => new[] { $"attn_fwd_rows<{t}, {n}>", $"attn_bwd_dq<{t}, {n}>", $"attn_bwd_dkdv<{t}, {n}>" })),
        .. MmaHeadDims.ToArray().Select(d => $"attn_fwd_mma<{d}>"),
        .. KernelFamily.PerFloatType(t => [$"attn_probs<{t}>", $"attn_bwd_delta<{t}>"])]);

    /// <summary>Dims per lane of the warp-per-row attention kernels: head dims up to 64, 128, 256. (Spans of constant
    /// data, not fields: the kernel list above reads them during static initialisation.)</summary>
    private static ReadOnlySpan<int> AttentionLanes => [2, 4, 8];
    /// <summary>Head dims of the tensor-core attention forward.</summary>
    private static ReadOnlySpan<int> MmaHeadDims => [64, 128];

    // Must match attention.cu.
    private const int RowsWarps = 8, KeyTile = 32, MmaRows = 64, MmaKeys = 64;

    private readonly record struct AttentionShape(int B, int H, int Tq, int Tk, int D, int Dv)
    {
        /// <summary>Dims per lane of the warp-per-row kernels (a lane owns dims lane, lane+32, …).</summary>
        public int Lanes
        {
            get
            {
                int widest = Math.Max(D, Dv);
                foreach (int npl in AttentionLanes) if (widest <= 32 * npl) return npl;
                throw new NotSupportedException($"attention head dim {widest} exceeds the largest supported ({32 * AttentionLanes[^1]})");
            }
        }
    }

    private static AttentionShape GetAttentionShape(Tensor q, Tensor k, Tensor v, AttentionArgs args)
    {
        int b = q.Dim(0), tq = q.Dim(1), tk = k.Dim(1), h = args.Heads;
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3 || k.Dim(0) != b || v.Dim(0) != b || v.Dim(1) != tk || q.Dim(2) != k.Dim(2)
            || q.Dim(2) % h != 0 || v.Dim(2) % h != 0)
            throw new ArgumentException($"attention: q {q.ShapeString}, k {k.ShapeString}, v {v.ShapeString} do not form {h}-head attention");
        return new AttentionShape(b, h, tq, tk, q.Dim(2) / h, v.Dim(2) / h);
    }

    private void CheckMask(Tensor? mask, AttentionShape s)
    {
        if (mask == null) return;
        RequireF32("attention", "key mask", mask);
        if (mask.Numel != (long)s.B * s.Tk) throw new ArgumentException($"attention: key mask {mask.ShapeString} is not [{s.B},{s.Tk}]");
        Ptr(mask);
    }

    /// <summary>ProbKeys copied to the device as I32 (validated against Tk), or null.</summary>
    private Tensor? DeviceKeys(AttentionArgs args, AttentionShape s)
    {
        if (args.ProbKeys == null) return null;
        if (args.ProbKeys.Length % s.B != 0) throw new ArgumentException("attention: ProbKeys must hold the same number of keys per batch entry");
        foreach (int key in args.ProbKeys)
            if (key < 0 || key >= s.Tk) throw new ArgumentOutOfRangeException(nameof(args), $"attention: probability key {key} outside [0, {s.Tk})");
        var keys = Tensor.Empty([args.ProbKeys.Length], DType.I32, Device);
        CopyFromHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(args.ProbKeys.AsSpan()), keys);
        return keys;
    }

    private static int RowsSmem(AttentionShape s, bool backward) => sizeof(float) * (backward
        ? KeyTile * (s.D + 1) + KeyTile * (s.Dv + 1) + RowsWarps * (s.D + s.Dv)
        : KeyTile * (s.D + 1) + KeyTile * s.Dv + RowsWarps * s.D);

    private static bool Aligned16(params Tensor[] ts) => ts.All(t => t.DataPointer % 16 == 0);

    public void Attention(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor? probs, AttentionArgs args)
    {
        var s = GetAttentionShape(q, k, v, args);
        var t = FloatType("attention", q, k, v, o, probs);
        RequireF32("attention", "lse", lse);
        if (o.Numel != (long)s.B * s.Tq * s.H * s.Dv || lse.Numel != (long)s.B * s.H * s.Tq)
            throw new ArgumentException($"attention: o {o.ShapeString} / lse {lse.ShapeString} do not match [B,Tq,H·Dv] / [B,H,Tq]");
        CheckMask(args.KeyMask, s);
        int causal = args.Causal ? 1 : 0;
        if (t == "bf16" && s.D == s.Dv && MmaHeadDims.Contains(s.D) && Aligned16(q, k, v, o))
        {
            _gpu.Launch(Fn(AttentionKernels, $"attn_fwd_mma<{s.D}>"), new Dim3((uint)((s.Tq + MmaRows - 1) / MmaRows), (uint)s.H, (uint)s.B),
                MmaRows / 16 * 32, 2 * MmaKeys * (s.D + 8) * 2,
                Ptr(q), Ptr(k), Ptr(v), Ptr(o), Ptr(lse), Opt(args.KeyMask), s.H, s.Tq, s.Tk, args.Scale, causal);
        }
        else
        {
            _gpu.Launch(Fn(AttentionKernels, $"attn_fwd_rows<{t}, {s.Lanes}>"), new Dim3((uint)((s.Tq + RowsWarps - 1) / RowsWarps), (uint)s.H, (uint)s.B),
                RowsWarps * 32, RowsSmem(s, backward: false),
                Ptr(q), Ptr(k), Ptr(v), Ptr(o), Ptr(lse), Opt(args.KeyMask), s.H, s.Tq, s.Tk, s.D, s.Dv, args.Scale, causal);
        }
        if (probs == null) return;
        int nk = args.ProbKeyCount(s.B);
        if (probs.Numel != (long)s.B * s.Tq * nk) throw new ArgumentException($"attention: probs {probs.ShapeString} is not [{s.B},{s.Tq},{nk}]");
        using var keys = DeviceKeys(args, s)!;
        Elementwise(Fn(AttentionKernels, $"attn_probs<{t}>"), probs.Numel, Ptr(q), Ptr(k), Ptr(lse), Opt(args.KeyMask), Ptr(keys), Ptr(probs),
            s.B, s.H, s.Tq, s.Tk, s.D, nk, args.Scale, causal);
    }

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor dO, Tensor? dProbs,
        Tensor? dq, Tensor? dk, Tensor? dv, AttentionArgs args)
    {
        if (dq == null && dk == null && dv == null) return;
        var s = GetAttentionShape(q, k, v, args);
        var t = FloatType("attention backward", q, k, v, o, dO, dProbs, dq, dk, dv);
        CheckMask(args.KeyMask, s);
        int causal = args.Causal ? 1 : 0, nk = dProbs != null ? args.ProbKeyCount(s.B) : 0;
        if (dProbs != null && (args.ProbKeys == null || dProbs.Numel != (long)s.B * s.Tq * nk))
            throw new ArgumentException($"attention backward: dProbs {dProbs.ShapeString} needs ProbKeys and shape [{s.B},{s.Tq},{nk}]");
        using var keys = dProbs != null ? DeviceKeys(args, s) : null;
        using var delta = Tensor.Empty([s.B, s.H, s.Tq], DType.F32, Device);
        long rows = (long)s.B * s.H * s.Tq;
        _gpu.Launch(Fn(AttentionKernels, $"attn_bwd_delta<{t}>"), (int)((rows + 7) / 8), 256, 0,
            Ptr(q), Ptr(k), Ptr(o), Ptr(dO), Ptr(lse), Opt(args.KeyMask), Opt(keys), Opt(dProbs), Ptr(delta),
            s.B, s.H, s.Tq, s.Tk, s.D, s.Dv, nk, args.Scale, causal);
        int smem = RowsSmem(s, backward: true);
        if (dq != null)
            _gpu.Launch(Fn(AttentionKernels, $"attn_bwd_dq<{t}, {s.Lanes}>"), new Dim3((uint)((s.Tq + RowsWarps - 1) / RowsWarps), (uint)s.H, (uint)s.B),
                RowsWarps * 32, smem, Ptr(q), Ptr(k), Ptr(v), Ptr(dO), Ptr(lse), Ptr(delta), Opt(args.KeyMask), Opt(keys), Opt(dProbs), Ptr(dq),
                s.H, s.Tq, s.Tk, s.D, s.Dv, nk, args.Scale, causal);
        if (dk != null || dv != null)
            _gpu.Launch(Fn(AttentionKernels, $"attn_bwd_dkdv<{t}, {s.Lanes}>"), new Dim3((uint)((s.Tk + RowsWarps - 1) / RowsWarps), (uint)s.H, (uint)s.B),
                RowsWarps * 32, smem, Ptr(q), Ptr(k), Ptr(v), Ptr(dO), Ptr(lse), Ptr(delta), Opt(args.KeyMask), Opt(keys), Opt(dProbs),
                Opt(dk), Opt(dv), s.H, s.Tq, s.Tk, s.D, s.Dv, nk, args.Scale, causal);
    }
}
