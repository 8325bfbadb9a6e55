using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cpu;

public static partial class AttentionCpu
{
    /// <summary>The pinned inputs of one call plus the packed panels, addressed per (batch, head, key block).</summary>
    private readonly unsafe struct Operands(in AttentionProblem problem, float* q, float* k, float* v, float* mask, int* probKeys, int probKeyCount,
        float* keyPanels, float* valuePanels)
    {
        public readonly AttentionProblem Problem = problem;
        public readonly float* Q = q, K = k, V = v;
        /// <summary>[B,Tk], 0 = masked; null when there is no mask.</summary>
        public readonly float* Mask = mask;
        public readonly int* ProbKeys = probKeys;
        public readonly int ProbKeyCount = probKeyCount;
        /// <summary>Kᵀ (and, for the backward, Vᵀ) in [B,H,key block][D][KeyBlock] panels, zero-padded past Tk.</summary>
        public readonly float* KeyPanels = keyPanels, ValuePanels = valuePanels;

        public float* KeyPanel(int bh, int j0) => KeyPanels + ((long)bh * Problem.KeyBlocks + j0 / KeyBlock) * Problem.HeadDim * KeyBlock;
        public float* ValuePanel(int bh, int j0) => ValuePanels + ((long)bh * Problem.KeyBlocks + j0 / KeyBlock) * Problem.ValueHeadDim * KeyBlock;
        public float* KeyRows(int b, int h, int j0) => K + ((long)b * Problem.KeyLength + j0) * Problem.QueryWidth + h * Problem.HeadDim;
        public float* ValueRows(int b, int h, int j0) => V + ((long)b * Problem.KeyLength + j0) * Problem.ValueWidth + h * Problem.ValueHeadDim;

        /// <summary>
        /// Copies rows i0..i0+count of head h, multiplied by the scale, into a dense [count × D] block: the logit GEMM then
        /// reads unit-stride rows and the scale costs O(Tq·D) instead of O(Tq·Tk).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void LoadScaledQueries(int b, int h, int i0, int count, float* dst)
        {
            var p = Problem;
            for (int r = 0; r < count; r++)
            {
                var src = new ReadOnlySpan<float>(Q + ((long)b * p.QueryLength + i0 + r) * p.QueryWidth + h * p.HeadDim, p.HeadDim);
                TensorPrimitives.Multiply(src, p.Scale, new Span<float>(dst + r * p.HeadDim, p.HeadDim));
            }
        }
    }

    /// <summary>
    /// Transposes every (batch, head, key block) of a [B,Tk,H·width] tensor into a contiguous [width][KeyBlock] panel,
    /// zero-padded past Tk, so the logit GEMM (q·kᵀ) and the backward's dO·vᵀ run as broadcast-FMA outer products with
    /// unit-stride loads. O(Tk·H·width) memory, allocated aligned; the caller frees it.
    /// </summary>
    private static unsafe float* PackPanels(in AttentionProblem p, float* src, int rowWidth, int width)
    {
        int blocks = p.KeyBlocks, heads = p.Heads, keys = p.KeyLength;
        long panel = (long)width * KeyBlock;
        float* dst = Alloc(p.Batch * heads * blocks * panel);
        Parallel.For(0, p.Batch * heads * blocks, t =>
        {
            int kb = t % blocks, bh = t / blocks, h = bh % heads, b = bh / heads;
            int j0 = kb * KeyBlock, n = Math.Min(KeyBlock, keys - j0);
            float* to = dst + t * panel;
            if (n < KeyBlock) new Span<float>(to, (int)panel).Clear();
            for (int j = 0; j < n; j++)
            {
                float* from = src + ((long)b * keys + j0 + j) * rowWidth + h * width;
                for (int c = 0; c < width; c++) to[c * KeyBlock + j] = from[c];
            }
        });
        return dst;
    }

    private static unsafe float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(floats, 1) * sizeof(float)), 64);

    /// <summary>Per-worker scratch of one (batch, head, block) task, reused across the tasks a worker runs.</summary>
    private sealed unsafe class Workspace : IDisposable
    {
        private readonly float* _block;
        /// <summary>[QueryBlock × D] scaled queries.</summary>
        public readonly float* Queries;
        /// <summary>[QueryBlock × KeyBlock] logits, then probabilities.</summary>
        public readonly float* Logits;
        /// <summary>[QueryBlock × KeyBlock] dP, then dS (backward only).</summary>
        public readonly float* LogitGrads;
        /// <summary>[max(QueryBlock, KeyBlock) × max(D, Dv)] output / dq / dk accumulator.</summary>
        public readonly float* Acc;
        /// <summary>[KeyBlock × Dv] dv accumulator (backward only).</summary>
        public readonly float* ValueAcc;
        public readonly float* RowMax, RowSum;
        /// <summary>[QueryBlock × nk] running numerators of the probability keys.</summary>
        public readonly float* ProbAcc;

        public Workspace(in AttentionProblem p, int probKeyCount)
        {
            int rows = Math.Max(QueryBlock, KeyBlock), width = Math.Max(p.HeadDim, p.ValueHeadDim);
            // Each slice is rounded up to 16 floats so every one starts 64-byte aligned.
            long[] sizes = [QueryBlock * p.HeadDim, QueryBlock * KeyBlock, QueryBlock * KeyBlock, (long)rows * width,
                KeyBlock * p.ValueHeadDim, QueryBlock, QueryBlock, QueryBlock * probKeyCount];
            long total = 0;
            foreach (long s in sizes) total += (s + 15) & ~15L;
            _block = Alloc(total);
            float* next = _block;
            float* Take(long n) { float* at = next; next += (n + 15) & ~15L; return at; }
            Queries = Take(sizes[0]);
            Logits = Take(sizes[1]);
            LogitGrads = Take(sizes[2]);
            Acc = Take(sizes[3]);
            ValueAcc = Take(sizes[4]);
            RowMax = Take(sizes[5]);
            RowSum = Take(sizes[6]);
            ProbAcc = Take(sizes[7]);
        }

        public void Dispose() => NativeMemory.AlignedFree(_block);
    }
}
