using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cpu;

public static partial class AttentionCpu
{
    /// <summary>
    /// Backward, flash-attention style: probabilities are recomputed per block from q, k and lse, then
    /// dP = dO·vᵀ + G (G_ij = (1/H)·Σ_{n: key_n = j} dProbs[i,n], the head-mean probs output's gradient),
    /// D_i = Σ_j P_ij·dP_ij = rowsum(dO∘O) + (1/H)·Σ_n dProbs[i,n]·P_i,key_n, dS = P∘(dP − D_i), and
    /// dq = scale·dS·k, dk = scale·dSᵀ·q, dv = Pᵀ·dO. dq runs over (batch, head, query block) tasks, dk/dv over
    /// (batch, head, key block) tasks, so nothing is shared between workers. An empty gradient span means "not needed"
    /// and its work is skipped; dProbs is empty when the probs output took no part in the loss.
    /// </summary>
    public static unsafe void Backward(in AttentionProblem p, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO, ReadOnlySpan<float> dProbs,
        ReadOnlySpan<float> keyMask, ReadOnlySpan<int> probKeys, Span<float> dq, Span<float> dk, Span<float> dv)
    {
        int nk = Validate(p, q, k, v, keyMask, probKeys);
        Require(o.Length, (long)p.Batch * p.QueryLength * p.ValueWidth, "o");
        Require(dO.Length, o.Length, "dO");
        Require(lse.Length, (long)p.Batch * p.Heads * p.QueryLength, "lse");
        if (!dProbs.IsEmpty) Require(dProbs.Length, (long)p.Batch * p.QueryLength * nk, "dProbs");
        if (!dq.IsEmpty) Require(dq.Length, q.Length, "dq");
        if (!dk.IsEmpty) Require(dk.Length, k.Length, "dk");
        if (!dv.IsEmpty) Require(dv.Length, v.Length, "dv");
        bool needQ = !dq.IsEmpty, needK = !dk.IsEmpty, needV = !dv.IsEmpty;
        if (!needQ && !needK && !needV) return;
        bool needLogitGrads = needQ || needK;

        fixed (float* pq = q, pk = k, pv = v, pm = keyMask, po = o, pl = lse, pdo = dO, pdp = dProbs, pdq = dq, pdk = dk, pdv = dv)
        fixed (int* keys = probKeys)
        {
            float* kPanels = PackPanels(p, pk, p.QueryWidth, p.HeadDim);
            float* vPanels = needLogitGrads ? PackPanels(p, pv, p.ValueWidth, p.ValueHeadDim) : null;
            float* delta = needLogitGrads ? Alloc((long)p.Batch * p.Heads * p.QueryLength) : null;
            try
            {
                var x = new Operands(p, pq, pk, pv, pm, keys, nk, kPanels, vPanels);
                var g = new Gradients(po, pl, pdo, pdp, delta, pm == null ? null : KeptBefore(p, pm), pdq, pdk, pdv);
                if (needLogitGrads) Parallel.For(0, p.Batch * p.Heads, bh => ComputeDelta(x, g, bh));
                if (needQ)
                    Parallel.For(0, p.Batch * p.Heads * p.QueryBlocks, () => new Workspace(x.Problem, nk),
                        (task, _, ws) => { QueryGradients(x, g, task, ws); return ws; }, ws => ws.Dispose());
                if (needK || needV)
                    Parallel.For(0, p.Batch * p.Heads * p.KeyBlocks, () => new Workspace(x.Problem, nk),
                        (task, _, ws) => { KeyValueGradients(x, g, task, ws); return ws; }, ws => ws.Dispose());
            }
            finally
            {
                NativeMemory.AlignedFree(kPanels);
                NativeMemory.AlignedFree(vPanels);
                NativeMemory.AlignedFree(delta);
            }
        }
    }

    private readonly unsafe struct Gradients(float* o, float* lse, float* dO, float* dProbs, float* delta, int[]? keptBefore,
        float* dq, float* dk, float* dv)
    {
        public readonly float* O = o, Lse = lse, DO = dO, DProbs = dProbs;
        /// <summary>D_i per [B,H,Tq] row.</summary>
        public readonly float* Delta = delta;
        /// <summary>[B, Tk+1]: kept keys among the first j; null without a mask.</summary>
        public readonly int[]? KeptBefore = keptBefore;
        public readonly float* Dq = dq, Dk = dk, Dv = dv;

        /// <summary>Every key query i may see is masked: its logits are all the constant −max, P is uniform and dS is 0.</summary>
        public bool FullyMasked(in AttentionProblem p, int b, int i) =>
            KeptBefore != null && KeptBefore[b * (p.KeyLength + 1) + p.VisibleKeys(i)] == 0;

        public float* DORows(in AttentionProblem p, int b, int h, int i0) => DO + ((long)b * p.QueryLength + i0) * p.ValueWidth + h * p.ValueHeadDim;
    }

    private static unsafe int[] KeptBefore(in AttentionProblem p, float* mask)
    {
        int stride = p.KeyLength + 1;
        var kept = new int[p.Batch * stride];
        for (int b = 0; b < p.Batch; b++)
            for (int j = 0; j < p.KeyLength; j++)
                kept[b * stride + j + 1] = kept[b * stride + j] + (mask[(long)b * p.KeyLength + j] != 0f ? 1 : 0);
        return kept;
    }

    private static unsafe void ComputeDelta(in Operands x, in Gradients g, int bh)
    {
        var p = x.Problem;
        int b = bh / p.Heads, h = bh % p.Heads, dv = p.ValueHeadDim, d = p.HeadDim, nk = x.ProbKeyCount;
        float invHeads = 1f / p.Heads;
        for (int i = 0; i < p.QueryLength; i++)
        {
            long row = (long)b * p.QueryLength + i;
            long at = row * p.ValueWidth + h * dv;
            float delta = TensorPrimitives.Dot(new ReadOnlySpan<float>(g.DO + at, dv), new ReadOnlySpan<float>(g.O + at, dv));
            if (g.DProbs != null && !g.FullyMasked(p, b, i))
            {
                var qi = new ReadOnlySpan<float>(x.Q + row * p.QueryWidth + h * d, d);
                float lse = g.Lse[(long)bh * p.QueryLength + i];
                for (int n = 0; n < nk; n++)
                {
                    int key = x.ProbKeys[b * nk + n];
                    if (key >= p.VisibleKeys(i) || (x.Mask != null && x.Mask[(long)b * p.KeyLength + key] == 0f)) continue;
                    float s = p.Scale * TensorPrimitives.Dot(qi, new ReadOnlySpan<float>(x.KeyRows(b, h, key), d));
                    delta += g.DProbs[row * nk + n] * invHeads * MathF.Exp(s - lse);
                }
            }
            g.Delta[(long)bh * p.QueryLength + i] = delta;
        }
    }

    /// <summary>dq for one (batch, head, query block): dq_i = scale·Σ_j dS_ij·k_j over the key blocks the block sees.</summary>
    private static unsafe void QueryGradients(in Operands x, in Gradients g, int task, Workspace ws)
    {
        var p = x.Problem;
        int qb = task % p.QueryBlocks, bh = task / p.QueryBlocks, h = bh % p.Heads, b = bh / p.Heads;
        int i0 = qb * QueryBlock, mq = Math.Min(QueryBlock, p.QueryLength - i0), d = p.HeadDim;
        x.LoadScaledQueries(b, h, i0, mq, ws.Queries);
        new Span<float>(ws.Acc, mq * d).Clear();
        int keyEnd = p.Causal ? Math.Min(p.KeyLength, i0 + mq) : p.KeyLength;
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int nkb = Math.Min(KeyBlock, p.KeyLength - j0);
            RecomputeProbabilities(x, g, ws, bh, i0, mq, j0, nkb);
            LogitGradients(x, g, ws, bh, i0, mq, j0, nkb);
            Gemm(mq, d, nkb, ws.LogitGrads, KeyBlock, 1, x.KeyRows(b, h, j0), p.QueryWidth, ws.Acc, d, accumulate: true);
        }
        for (int r = 0; r < mq; r++)
        {
            ScaleInPlace(ws.Acc + r * d, d, p.Scale);
            new ReadOnlySpan<float>(ws.Acc + r * d, d).CopyTo(new Span<float>(g.Dq + ((long)b * p.QueryLength + i0 + r) * p.QueryWidth + h * d, d));
        }
    }

    /// <summary>dk and dv for one (batch, head, key block): dk_j = scale·Σ_i dS_ij·q_i, dv_j = Σ_i P_ij·dO_i.</summary>
    private static unsafe void KeyValueGradients(in Operands x, in Gradients g, int task, Workspace ws)
    {
        var p = x.Problem;
        int kb = task % p.KeyBlocks, bh = task / p.KeyBlocks, h = bh % p.Heads, b = bh / p.Heads;
        int j0 = kb * KeyBlock, nkb = Math.Min(KeyBlock, p.KeyLength - j0), d = p.HeadDim, dv = p.ValueHeadDim;
        bool needK = g.Dk != null, needV = g.Dv != null;
        new Span<float>(ws.Acc, nkb * d).Clear();
        new Span<float>(ws.ValueAcc, nkb * dv).Clear();
        // Causal: the first query that sees key j0 is j0 itself.
        for (int i0 = p.Causal ? j0 - j0 % QueryBlock : 0; i0 < p.QueryLength; i0 += QueryBlock)
        {
            int mq = Math.Min(QueryBlock, p.QueryLength - i0);
            x.LoadScaledQueries(b, h, i0, mq, ws.Queries);
            RecomputeProbabilities(x, g, ws, bh, i0, mq, j0, nkb);
            if (needV) Gemm(nkb, dv, mq, ws.Logits, 1, KeyBlock, g.DORows(p, b, h, i0), p.ValueWidth, ws.ValueAcc, dv, accumulate: true);
            if (!needK) continue;
            LogitGradients(x, g, ws, bh, i0, mq, j0, nkb);
            // ws.Queries already carry the scale, so this is scale·dSᵀ·q.
            Gemm(nkb, d, mq, ws.LogitGrads, 1, KeyBlock, ws.Queries, d, ws.Acc, d, accumulate: true);
        }
        for (int j = 0; j < nkb; j++)
        {
            long row = (long)b * p.KeyLength + j0 + j;
            if (needK) new ReadOnlySpan<float>(ws.Acc + j * d, d).CopyTo(new Span<float>(g.Dk + row * p.QueryWidth + h * d, d));
            if (needV) new ReadOnlySpan<float>(ws.ValueAcc + j * dv, dv).CopyTo(new Span<float>(g.Dv + row * p.ValueWidth + h * dv, dv));
        }
    }

    /// <summary>
    /// ws.Logits ← P of the query block (ws.Queries, rows i0..i0+mq) against key block j0: exp(s − lse) on visible kept keys,
    /// 0 elsewhere; a fully masked row is uniform over its visible keys, as the forward's −max fill makes it.
    /// </summary>
    private static unsafe void RecomputeProbabilities(in Operands x, in Gradients g, Workspace ws, int bh, int i0, int mq, int j0, int nkb)
    {
        var p = x.Problem;
        int b = bh / p.Heads;
        int cols = TileColumns(nkb);
        Gemm(mq, cols, p.HeadDim, ws.Queries, p.HeadDim, 1, x.KeyPanel(bh, j0), KeyBlock, ws.Logits, KeyBlock, accumulate: false);
        for (int r = 0; r < mq; r++)
        {
            int i = i0 + r, visible = p.VisibleInBlock(i, j0, nkb);
            float* row = ws.Logits + r * KeyBlock;
            new Span<float>(row + visible, cols - visible).Clear();
            if (g.FullyMasked(p, b, i))
            {
                new Span<float>(row, visible).Fill(1f / p.VisibleKeys(i));
                continue;
            }
            ExpShiftedInPlace(row, visible, g.Lse[(long)bh * p.QueryLength + i]);
            if (x.Mask == null) continue;
            float* maskRow = x.Mask + (long)b * p.KeyLength + j0;
            for (int j = 0; j < visible; j++)
                if (maskRow[j] == 0f) row[j] = 0f;
        }
    }

    /// <summary>
    /// ws.LogitGrads ← dS = P∘(dP − D_i) for the block whose P is in ws.Logits, with dP = dO·vᵀ + G. Zero on rows whose
    /// logits were all the constant −max (and, through P = 0, on masked and invisible keys).
    /// </summary>
    private static unsafe void LogitGradients(in Operands x, in Gradients g, Workspace ws, int bh, int i0, int mq, int j0, int nkb)
    {
        var p = x.Problem;
        int b = bh / p.Heads, h = bh % p.Heads, nk = x.ProbKeyCount, cols = TileColumns(nkb);
        Gemm(mq, cols, p.ValueHeadDim, g.DORows(p, b, h, i0), p.ValueWidth, 1, x.ValuePanel(bh, j0), KeyBlock, ws.LogitGrads, KeyBlock, accumulate: false);
        if (g.DProbs != null)
        {
            float invHeads = 1f / p.Heads;
            for (int n = 0; n < nk; n++)
            {
                int key = x.ProbKeys[b * nk + n] - j0;
                if ((uint)key >= (uint)nkb) continue;
                for (int r = 0; r < mq; r++)
                    ws.LogitGrads[r * KeyBlock + key] += g.DProbs[((long)b * p.QueryLength + i0 + r) * nk + n] * invHeads;
            }
        }
        for (int r = 0; r < mq; r++)
        {
            float* grad = ws.LogitGrads + r * KeyBlock;
            if (g.FullyMasked(p, b, i0 + r)) new Span<float>(grad, cols).Clear();
            else SoftmaxBackwardInPlace(grad, ws.Logits + r * KeyBlock, cols, g.Delta[(long)bh * p.QueryLength + i0 + r]);
        }
    }
}
