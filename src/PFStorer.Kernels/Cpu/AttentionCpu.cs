using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cpu;

/// <summary>
/// Sizes and options of one multi-head scaled-dot-product attention call. Heads are interleaved in the last dim, as
/// to_q/to_k/to_v produce them: q [B,Tq,H·D], k [B,Tk,H·D], v [B,Tk,H·Dv], o [B,Tq,H·Dv], lse [B,H,Tq].
/// Causal: query i sees keys ≤ i (OpenCLIP's text mask).
/// </summary>
public readonly record struct AttentionProblem(int Batch, int Heads, int QueryLength, int KeyLength, int HeadDim, int ValueHeadDim, float Scale, bool Causal)
{
    internal int QueryWidth => Heads * HeadDim;
    internal int ValueWidth => Heads * ValueHeadDim;
    internal int QueryBlocks => (QueryLength + AttentionCpu.QueryBlock - 1) / AttentionCpu.QueryBlock;
    internal int KeyBlocks => (KeyLength + AttentionCpu.KeyBlock - 1) / AttentionCpu.KeyBlock;

    /// <summary>Keys query <paramref name="i"/> may see at all (|V_i|): its causal prefix, or every key.</summary>
    internal int VisibleKeys(int i) => Causal ? Math.Min(i + 1, KeyLength) : KeyLength;

    /// <summary>Keys of the block starting at <paramref name="j0"/> (of <paramref name="blockKeys"/>) that query <paramref name="i"/> may see: a prefix.</summary>
    internal int VisibleInBlock(int i, int j0, int blockKeys) => Causal ? Math.Clamp(i - j0 + 1, 0, blockKeys) : blockKeys;
}

/// <summary>
/// Multi-head scaled-dot-product attention on the CPU, flash-attention style: every (batch, head, query block) task
/// walks the key blocks with an online softmax (running max m and sum l per query row), so memory stays
/// O(block·D) per task whatever Tq and Tk are; only the log-sum-exp per row is kept for the backward, which recomputes
/// the probabilities from it. Masked keys get the logit −float.MaxValue (ViCo's masked_fill(−max)), so a fully masked row
/// gives uniform weights over its visible keys, never NaN.
/// The optional probability keys (ViCo's/PFStorer's A_* and A_EOT maps) are carried through the online softmax like extra
/// value columns, so probs[b,i,n] = mean over heads of P_h[i, key_n] comes out exactly consistent with o.
/// </summary>
public static partial class AttentionCpu
{
    internal const int QueryBlock = 64;
    internal const int KeyBlock = 64;

    /// <summary>
    /// Forward. keyMask [B,Tk] (empty = none; 0 masks a key); probKeys [B,nk] (empty = none) selects keys whose
    /// head-averaged probabilities go to probs [B,Tq,nk]; lse [B,H,Tq] receives log Σ_j exp(s_ij) of the scaled, masked logits.
    /// </summary>
    public static unsafe void Forward(in AttentionProblem p, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> keyMask, ReadOnlySpan<int> probKeys, Span<float> o, Span<float> lse, Span<float> probs)
    {
        int nk = Validate(p, q, k, v, keyMask, probKeys);
        Require(o.Length, (long)p.Batch * p.QueryLength * p.ValueWidth, "o");
        Require(lse.Length, (long)p.Batch * p.Heads * p.QueryLength, "lse");
        Require(probs.Length, (long)p.Batch * p.QueryLength * nk, "probs");

        fixed (float* pq = q, pk = k, pv = v, pm = keyMask, po = o, pl = lse, pp = probs)
        fixed (int* keys = probKeys)
        {
            float* kPanels = PackPanels(p, pk, p.QueryWidth, p.HeadDim);
            // Per-head probabilities first, then a fixed-order head mean: deterministic and race-free.
            float* headProbs = nk > 0 ? Alloc((long)p.Batch * p.Heads * p.QueryLength * nk) : null;
            try
            {
                var x = new Operands(p, pq, pk, pv, pm, keys, nk, kPanels, null);
                var outputs = new ForwardOutputs(po, pl, headProbs);
                Parallel.For(0, p.Batch * p.Heads * p.QueryBlocks, () => new Workspace(x.Problem, nk),
                    (task, _, ws) => { ForwardQueryBlock(x, outputs, task, ws); return ws; }, ws => ws.Dispose());
                if (nk > 0) MeanOverHeads(p, nk, headProbs, pp);
            }
            finally
            {
                NativeMemory.AlignedFree(kPanels);
                NativeMemory.AlignedFree(headProbs);
            }
        }
    }

    private readonly unsafe struct ForwardOutputs(float* o, float* lse, float* headProbs)
    {
        public readonly float* O = o, Lse = lse, HeadProbs = headProbs;
    }

    private static unsafe void ForwardQueryBlock(in Operands x, in ForwardOutputs y, int task, Workspace ws)
    {
        var p = x.Problem;
        int qb = task % p.QueryBlocks, bh = task / p.QueryBlocks, h = bh % p.Heads, b = bh / p.Heads;
        int i0 = qb * QueryBlock, mq = Math.Min(QueryBlock, p.QueryLength - i0);
        int d = p.HeadDim, dv = p.ValueHeadDim, nk = x.ProbKeyCount;
        x.LoadScaledQueries(b, h, i0, mq, ws.Queries);

        float* m = ws.RowMax, l = ws.RowSum, acc = ws.Acc, pacc = ws.ProbAcc;
        new Span<float>(m, mq).Fill(float.NegativeInfinity);
        new Span<float>(l, mq).Clear();
        new Span<float>(acc, mq * dv).Clear();
        new Span<float>(pacc, mq * nk).Clear();

        int keyEnd = p.Causal ? Math.Min(p.KeyLength, i0 + mq) : p.KeyLength;
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int nkb = Math.Min(KeyBlock, p.KeyLength - j0), cols = TileColumns(nkb);
            Gemm(mq, cols, d, ws.Queries, d, 1, x.KeyPanel(bh, j0), KeyBlock, ws.Logits, KeyBlock, accumulate: false);
            for (int r = 0; r < mq; r++)
            {
                float* row = ws.Logits + r * KeyBlock;
                int visible = p.VisibleInBlock(i0 + r, j0, nkb);
                if (x.Mask != null) FillMasked(row, visible, x.Mask + (long)b * p.KeyLength + j0);
                new Span<float>(row + visible, cols - visible).Clear();
                float corr = OnlineSoftmaxStep(row, visible, ref m[r], ref l[r]);
                if (corr != 1f && j0 > 0) // nothing is accumulated before the first block
                {
                    ScaleInPlace(acc + r * dv, dv, corr);
                    ScaleInPlace(pacc + r * nk, nk, corr);
                }
            }
            Gemm(mq, dv, nkb, ws.Logits, KeyBlock, 1, x.ValueRows(b, h, j0), p.ValueWidth, acc, dv, accumulate: true);
            for (int n = 0; n < nk; n++)
            {
                int key = x.ProbKeys[b * nk + n] - j0;
                if ((uint)key >= (uint)nkb) continue;
                for (int r = 0; r < mq; r++) pacc[r * nk + n] += ws.Logits[r * KeyBlock + key];
            }
        }

        for (int r = 0; r < mq; r++)
        {
            long row = (long)b * p.QueryLength + i0 + r;
            float inv = 1f / l[r];
            ScaleInPlace(acc + r * dv, dv, inv);
            new ReadOnlySpan<float>(acc + r * dv, dv).CopyTo(new Span<float>(y.O + row * p.ValueWidth + h * dv, dv));
            y.Lse[(long)bh * p.QueryLength + i0 + r] = m[r] + MathF.Log(l[r]);
            if (nk > 0)
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(pacc + r * nk, nk), inv,
                    new Span<float>(y.HeadProbs + ((long)bh * p.QueryLength + i0 + r) * nk, nk));
        }
    }

    /// <summary>
    /// Logit columns computed for a key block of <paramref name="blockKeys"/> keys: rounded up to the 16-wide GEMM tile,
    /// the extra columns are exact zeros from the panel padding and are never read as probabilities.
    /// </summary>
    private static int TileColumns(int blockKeys) => (blockKeys + 15) & ~15;

    /// <summary>ViCo's masked_fill(~mask, −max): the logit of every masked key becomes −float.MaxValue.</summary>
    private static unsafe void FillMasked(float* logits, int n, float* maskRow)
    {
        for (int j = 0; j < n; j++)
            if (maskRow[j] == 0f) logits[j] = -float.MaxValue;
    }

    /// <summary>
    /// One key block of the online softmax for one query row: folds the block's <paramref name="visible"/> logits into the
    /// running max m and sum l, overwrites them with exp(s − m_new) and returns exp(m_old − m_new), the factor by which
    /// everything accumulated so far must be rescaled.
    /// </summary>
    private static unsafe float OnlineSoftmaxStep(float* row, int visible, ref float m, ref float l)
    {
        if (visible == 0) return 1f;
        float mNew = Math.Max(m, RowMax(row, visible));
        float corr = MathF.Exp(m - mNew); // 0 on the first block (m = −∞)
        l = l * corr + ExpShiftedInPlace(row, visible, mNew);
        m = mNew;
        return corr;
    }

    private static unsafe void MeanOverHeads(in AttentionProblem p, int nk, float* headProbs, float* probs)
    {
        int perHead = p.QueryLength * nk;
        float invHeads = 1f / p.Heads;
        for (int b = 0; b < p.Batch; b++)
        {
            var dst = new Span<float>(probs + (long)b * perHead, perHead);
            dst.Clear();
            for (int h = 0; h < p.Heads; h++)
                TensorPrimitives.Add(dst, new ReadOnlySpan<float>(headProbs + ((long)b * p.Heads + h) * perHead, perHead), dst);
            TensorPrimitives.Multiply(dst, invHeads, dst);
        }
    }

    /// <summary>Checks every size against the problem (the kernels use raw pointers) and returns the prob-key count per batch entry.</summary>
    private static int Validate(in AttentionProblem p, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> keyMask, ReadOnlySpan<int> probKeys)
    {
        if (p.Batch < 1 || p.Heads < 1 || p.QueryLength < 1 || p.KeyLength < 1 || p.HeadDim < 1 || p.ValueHeadDim < 1)
            throw new ArgumentException($"attention: every size must be positive, got {p}");
        Require(q.Length, (long)p.Batch * p.QueryLength * p.QueryWidth, "q");
        Require(k.Length, (long)p.Batch * p.KeyLength * p.QueryWidth, "k");
        Require(v.Length, (long)p.Batch * p.KeyLength * p.ValueWidth, "v");
        if (!keyMask.IsEmpty) Require(keyMask.Length, (long)p.Batch * p.KeyLength, "key mask");
        if (probKeys.Length % p.Batch != 0)
            throw new ArgumentException($"attention: {probKeys.Length} probability keys do not split evenly over batch {p.Batch}");
        foreach (int key in probKeys)
            if ((uint)key >= (uint)p.KeyLength) throw new ArgumentOutOfRangeException(nameof(probKeys), $"attention: probability key {key} is outside [0, {p.KeyLength})");
        return probKeys.Length / p.Batch;
    }

    private static void Require(int actual, long expected, string what)
    {
        if (actual != expected) throw new ArgumentException($"attention: {what} has {actual} elements, the problem needs {expected}");
    }
}
